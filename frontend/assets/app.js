// Todo: the page's small script. The server renders every piece of HTML; this script
// sends actions to /api (same origin; the session cookie is HttpOnly and never read here)
// and swaps in the freshly rendered task region afterwards.
"use strict";

(function () {
  const region = document.getElementById("task-region");
  if (!region) return; // sign-in, sign-up and error pages need no script

  const notice = document.getElementById("notice");
  let busy = 0;

  function setBusy(delta) {
    busy += delta;
    document.body.dataset.busy = String(busy);
  }
  setBusy(0);

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function request(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (_) {
      throw new ApiError(0, "The app cannot be reached. Check your connection and try again.");
    }
    if (response.status === 401) {
      window.location.assign("/signin");
      throw new ApiError(401, "Your session has ended. Please sign in again.");
    }
    if (!response.ok) {
      let detail = "Something went wrong (" + response.status + "). Please try again.";
      try {
        const answer = await response.json();
        if (answer && answer.detail) detail = answer.detail;
      } catch (_) { /* keep the generic text */ }
      throw new ApiError(response.status, detail);
    }
    return response;
  }

  async function api(method, path, body) {
    const response = await request(method, path, body);
    if (response.status === 204) return null;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  function say(message, kind, retry) {
    notice.replaceChildren();
    notice.className = "notice" + (kind === "ok" ? " ok" : "");
    if (!message) return;
    const text = document.createElement("span");
    text.textContent = message;
    notice.append(text);
    if (retry) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button secondary small";
      button.textContent = "Retry";
      button.addEventListener("click", () => { say(""); retry(); });
      notice.append(button);
    }
  }

  async function refresh() {
    const response = await request("GET", "/partials/tasks" + window.location.search);
    region.innerHTML = await response.text();
  }

  // Runs an action, then refreshes the list; on failure offers to run it again.
  async function perform(action, after) {
    setBusy(1);
    try {
      const result = await action();
      await refresh();
      if (after) after(result);
    } catch (error) {
      if (error.status !== 401) say(error.message, "error", () => perform(action, after));
    } finally {
      setBusy(-1);
    }
  }

  function focusById(id, fallbackId) {
    const target = document.getElementById(id) || document.getElementById(fallbackId);
    if (target) target.focus();
  }

  function taskOf(element) {
    const item = element.closest("li.task");
    return item ? item.dataset.id : null;
  }

  function valueOf(form, name) {
    const field = form.elements.namedItem(name);
    return field ? field.value.trim() : "";
  }

  // Add a task.
  const addForm = document.getElementById("add-form");
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const title = valueOf(addForm, "title");
    if (!title) {
      say("Give the task a title first.", "error");
      focusById("new-title");
      return;
    }
    const body = {
      title,
      priority: valueOf(addForm, "priority") || "medium",
      due_date: valueOf(addForm, "due_date") || null,
    };
    const button = addForm.querySelector("button[type=submit]");
    button.disabled = true;
    perform(() => api("POST", "/api/tasks", body), () => {
      addForm.reset();
      say("Added “" + title + "”.", "ok");
      focusById("new-title");
    }).finally(() => { button.disabled = false; });
  });

  // Complete / reopen.
  region.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.dataset.action !== "toggle") return;
    const id = taskOf(box);
    if (!id) return;
    box.disabled = true;
    perform(() => api("POST", "/api/tasks/" + encodeURIComponent(id) + "/toggle"), () => {
      say("");
      focusById("done-" + id, "tasks-heading");
    }).finally(() => { box.disabled = false; });
  });

  // Edit, cancel and delete buttons.
  region.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = taskOf(button);
    if (!id) return;
    const item = button.closest("li.task");
    const form = document.getElementById("edit-" + id);
    const editButton = item.querySelector("button[data-action=edit]");
    switch (button.dataset.action) {
      case "edit": {
        const open = form.hidden;
        form.hidden = !open;
        editButton.setAttribute("aria-expanded", String(open));
        if (open) form.querySelector("input").focus();
        break;
      }
      case "cancel-edit":
        form.hidden = true;
        editButton.setAttribute("aria-expanded", "false");
        editButton.focus();
        break;
      case "delete": {
        const next = item.nextElementSibling || item.previousElementSibling;
        const nextId = next ? next.dataset.id : null;
        const title = item.querySelector(".title").lastChild.textContent.trim();
        button.disabled = true;
        perform(() => api("DELETE", "/api/tasks/" + encodeURIComponent(id)), () => {
          say("Deleted “" + title + "”.", "ok");
          focusById(nextId ? "done-" + nextId : "new-title", "new-title");
        });
        break;
      }
      default:
        break;
    }
  });

  // Escape closes an open edit form without saving.
  region.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const form = event.target.closest && event.target.closest("form.edit-form");
    if (!form) return;
    const cancel = form.querySelector("button[data-action=cancel-edit]");
    if (cancel) cancel.click();
  });

  // Save an edit.
  region.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList.contains("edit-form")) return;
    event.preventDefault();
    const id = form.dataset.id;
    const title = valueOf(form, "title");
    if (!title) {
      say("A task needs a title.", "error");
      form.querySelector("input").focus();
      return;
    }
    const tags = valueOf(form, "tags").split(",").map((t) => t.trim()).filter(Boolean);
    const body = {
      title,
      description: valueOf(form, "description"),
      priority: valueOf(form, "priority") || "medium",
      due_date: valueOf(form, "due_date") || null,
      tags,
    };
    perform(() => api("PATCH", "/api/tasks/" + encodeURIComponent(id), body), () => {
      say("Saved “" + title + "”.", "ok");
      const item = document.getElementById("task-" + id);
      const edit = item && item.querySelector("button[data-action=edit]");
      if (edit) edit.focus();
    });
  });

  // The chat panel.
  const chatForm = document.getElementById("chat-form");
  const chatLog = document.getElementById("chat-log");
  const chatInput = document.getElementById("chat-message");

  function chatLine(kind, text) {
    const line = document.createElement("li");
    line.className = kind;
    line.textContent = text;
    chatLog.append(line);
    chatLog.scrollTop = chatLog.scrollHeight;
    return line;
  }

  async function sendChat(message) {
    const button = chatForm.querySelector("button[type=submit]");
    button.disabled = true;
    setBusy(1);
    try {
      const answer = await api("POST", "/api/chat", { message });
      chatLine("bot", (answer && answer.reply) || "Done.");
      say("");
      await refresh();
    } catch (error) {
      if (error.status !== 401) {
        const line = chatLine("error", error.message + " ");
        const retry = document.createElement("button");
        retry.type = "button";
        retry.className = "button secondary small";
        retry.textContent = "Retry";
        retry.addEventListener("click", () => { line.remove(); sendChat(message); });
        line.append(retry);
      }
    } finally {
      button.disabled = false;
      setBusy(-1);
    }
  }

  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const message = chatInput.value.trim();
    if (!message) return;
    chatLine("me", message);
    chatInput.value = "";
    chatInput.focus();
    sendChat(message);
  });
})();
