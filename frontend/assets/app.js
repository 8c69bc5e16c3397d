// Todo: the page's small script. The server renders every piece of HTML; this script
// sends actions to /api (same origin; the session cookie is HttpOnly and never read here)
// and swaps in the freshly rendered task region afterwards.
"use strict";

(function () {
  // The conversation is kept per browser tab (sessionStorage) so that filters, search,
  // paging and reloads, all full page loads, do not wipe it; it never leaves the browser
  // and is forgotten on sign-out or when the tab closes.
  const CHAT_KEY = "todo.chat";
  const stored = {
    get(key) {
      try { return window.sessionStorage.getItem(key); } catch (_) { return null; }
    },
    set(key, value) {
      try { window.sessionStorage.setItem(key, value); } catch (_) { /* storage off or full */ }
    },
    remove(key) {
      try { window.sessionStorage.removeItem(key); } catch (_) { /* storage off */ }
    },
    forget() {
      this.remove(CHAT_KEY);
    },
  };

  // What was typed in the add and chat boxes when the session ended, put back after
  // signing in again, only for the same account (the topbar names it).
  const DRAFT_KEY = "todo.draft";
  const who = document.querySelector(".topbar .who");
  const account = who ? who.lastChild.textContent.trim() : "";

  const region = document.getElementById("task-region");
  if (!region) {
    // The sign-in and sign-up pages mean no one is signed in here any more.
    if (document.querySelector(".auth")) stored.forget();
    return; // sign-in, sign-up and error pages need no more script
  }
  const signOut = document.querySelector("form[action='/signout']");
  if (signOut) signOut.addEventListener("submit", () => stored.forget());
  // A page restored from the back/forward cache after signing out must not show tasks.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.reload();
  });

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
      keepDrafts();
      window.location.assign("/signin?ended");
      throw new ApiError(401, "Your session has ended. Please sign in again.");
    }
    // The backend names a missing task by its global id, which the page never shows.
    if (response.status === 404 && path.startsWith("/api/tasks/")) {
      throw new ApiError(404, plainWords(404));
    }
    if (!response.ok) {
      let detail = plainWords(response.status);
      try {
        const answer = await response.json();
        if (answer && answer.detail) detail = answer.detail;
      } catch (_) { /* keep the generic text */ }
      throw new ApiError(response.status, detail);
    }
    return response;
  }

  function keepDrafts() {
    const drafts = { account };
    for (const id of ["new-title", "chat-message"]) {
      const input = document.getElementById(id);
      if (input && input.value.trim()) drafts[id] = input.value;
    }
    if (Object.keys(drafts).length > 1) stored.set(DRAFT_KEY, JSON.stringify(drafts));
  }

  function restoreDrafts() {
    let drafts = null;
    try { drafts = JSON.parse(stored.get(DRAFT_KEY) || "null"); } catch (_) { /* not ours */ }
    stored.remove(DRAFT_KEY);
    if (!drafts || drafts.account !== account) return;
    for (const id of ["new-title", "chat-message"]) {
      const input = document.getElementById(id);
      if (input && !input.value && typeof drafts[id] === "string") input.value = drafts[id];
    }
  }
  restoreDrafts();

  // What a failure means, for answers that carry no explanation of their own.
  function plainWords(status) {
    if (status === 404) return "That task no longer exists; it may have been deleted elsewhere.";
    if (status === 413) return "That is too long to send. Shorten it and try again.";
    if (status === 429) return "Too many requests at once. Wait a moment, then try again.";
    if (status >= 500) return "The task service had a problem (" + status + "). Try again in a moment.";
    return "That did not work (" + status + "). Check what you entered and try again.";
  }

  // Only a failure of the connection or the service can go away by itself; a request
  // the service refused (too long, not found, invalid) fails the same way every time.
  function retriable(error) {
    return error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500;
  }

  async function api(method, path, body) {
    const response = await request(method, path, body);
    if (response.status === 204) return null;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  // kind "quiet": told to screen readers only (the live region still announces it).
  function say(message, kind, retry) {
    notice.replaceChildren();
    notice.className = "notice" + (kind === "ok" ? " ok" : kind === "quiet" ? " quiet" : "");
    if (!message) return;
    const text = document.createElement("span");
    if (kind === "quiet") text.className = "visually-hidden";
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

  // Reloads the task region; the first task that is new or different afterwards is
  // marked and scrolled into view (above the docked assistant on a phone).
  async function refresh() {
    const before = new Map(
      [...region.querySelectorAll("li.task")].map((item) => [item.id, item.innerHTML]),
    );
    region.setAttribute("aria-busy", "true");
    let response;
    try {
      response = await request("GET", "/partials/tasks" + window.location.search);
      region.innerHTML = await response.text();
    } finally {
      region.removeAttribute("aria-busy");
    }
    expireUndo();
    const changed = [...region.querySelectorAll("li.task")]
      .find((item) => before.get(item.id) !== item.innerHTML);
    if (changed) showTask(changed);
    return changed;
  }

  // The undo bar leaves when its change can no longer be undone (the server says until
  // when); the server refuses a late undo anyway.
  let undoTimer = null;
  function expireUndo() {
    clearTimeout(undoTimer);
    const bar = document.getElementById("undo-form");
    if (!bar) return;
    const left = Date.parse(bar.dataset.expires) - Date.now();
    if (!(left > 0)) {
      bar.remove();
      return;
    }
    undoTimer = setTimeout(expireUndo, Math.min(left + 250, 60000));
  }
  expireUndo();

  function showTask(item) {
    item.classList.add("changed");
    item.scrollIntoView({ block: "nearest" });
  }

  // When the refreshed list's undo bar tells of this change ("You deleted task 3 “x”.
  // [Undo]"), the notice would say the same again: the bar alone is shown, and the
  // notice tells only screen readers (the bar is not a live region).
  function sayChanged(message, title) {
    const bar = document.getElementById("undo-form");
    const told = bar && bar.textContent.includes("“" + title + "”");
    say(message, told ? "quiet" : "ok");
  }

  // Runs an action, then refreshes the list; on failure offers to run it again.
  async function perform(action, after) {
    setBusy(1);
    try {
      const result = await action();
      await refresh();
      if (after) after(result);
    } catch (error) {
      if (error.status === 401) return;
      say(error.message, "error", retriable(error) ? () => perform(action, after) : null);
      // The list may be out of date (a task deleted elsewhere, a change that can no
      // longer be undone): show the current one.
      if (error.status === 404 || error.status === 409) refresh().catch(() => {});
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

  // Length counters: shown before submitting, so nothing is ever cut silently.
  function lengthOf(input) {
    return [...input.value.trim()].length;
  }

  function updateCounter(input) {
    const counter = document.getElementById(input.id + "-count");
    if (!counter) return;
    const limit = Number(input.dataset.limit);
    const length = lengthOf(input);
    const over = length > limit;
    counter.hidden = length < Number(input.dataset.countFrom || 0) && !over;
    counter.classList.toggle("over", over);
    counter.textContent = over
      ? length + " / " + limit + " characters: " + (length - limit) + " too many"
      : length + " / " + limit + " characters";
    input.setAttribute("aria-invalid", String(over));
  }

  // What is wrong with text over its limit, by how much; null when it fits.
  function overLimit(input, what) {
    const limit = Number(input.dataset.limit);
    const length = lengthOf(input);
    if (length <= limit) return null;
    return what + " is " + length + " characters long; the limit is " + limit +
      ". Shorten it by " + (length - limit) + ".";
  }

  for (const input of document.querySelectorAll("input[data-limit]")) {
    input.addEventListener("input", () => updateCounter(input));
    updateCounter(input);
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
    const tooLong = overLimit(document.getElementById("new-title"), "The title");
    if (tooLong) {
      say(tooLong, "error");
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
      updateCounter(document.getElementById("new-title"));
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
    // Under the Open or Done filter the task leaves the list: focus then goes to the
    // task that takes its place (or the one before), never to the page's start.
    const item = box.closest("li.task");
    const neighbour = item.nextElementSibling || item.previousElementSibling;
    const title = item.querySelector(".title").lastChild.textContent.trim();
    const nowDone = box.checked;
    box.disabled = true;
    perform(() => api("POST", "/api/tasks/" + encodeURIComponent(id) + "/toggle"), () => {
      sayChanged((nowDone ? "Marked “" : "Reopened “") + title + (nowDone ? "” done." : "”."), title);
      const fallback = neighbour ? "done-" + neighbour.dataset.id : "new-title";
      focusById("done-" + id, document.getElementById(fallback) ? fallback : "new-title");
    }).finally(() => { box.disabled = false; });
  });

  // The edit form exists only while a task is being edited: a copy of the page's one
  // template, with ids suffixed by the task's id and the task's values filled in.
  function openEdit(item, id, editButton) {
    const template = document.getElementById("edit-template");
    const form = template.content.firstElementChild.cloneNode(true);
    form.id = "edit-" + id;
    form.dataset.id = id;
    for (const element of form.querySelectorAll("[id]")) element.id += id;
    for (const label of form.querySelectorAll("label[for]")) label.htmlFor += id;
    const title = item.querySelector(".title").lastChild.textContent.trim();
    form.setAttribute("aria-label", "Edit “" + title + "”");
    const description = item.querySelector(".description");
    const due = item.querySelector(".due time");
    const tags = [...item.querySelectorAll(".badge.tag")].map((tag) => tag.textContent.replace(/^#/, ""));
    form.elements.namedItem("title").value = title;
    form.elements.namedItem("description").value = description ? description.textContent : "";
    form.elements.namedItem("priority").value = item.dataset.priority || "medium";
    form.elements.namedItem("due_date").value = due ? due.getAttribute("datetime") : "";
    form.elements.namedItem("tags").value = tags.join(", ");
    item.append(form);
    editButton.setAttribute("aria-expanded", "true");
    editButton.setAttribute("aria-controls", form.id);
    form.querySelector("input").focus();
  }

  function closeEdit(form, editButton) {
    if (form) form.remove();
    editButton.setAttribute("aria-expanded", "false");
    editButton.removeAttribute("aria-controls");
    editButton.focus();
  }

  // Edit, cancel and delete buttons.
  region.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = taskOf(button);
    if (!id) return;
    const item = button.closest("li.task");
    const editButton = item.querySelector("button[data-action=edit]");
    switch (button.dataset.action) {
      case "edit": {
        const open = document.getElementById("edit-" + id);
        if (open) {
          closeEdit(open, editButton);
        } else {
          openEdit(item, id, editButton);
        }
        break;
      }
      case "cancel-edit":
        closeEdit(document.getElementById("edit-" + id), editButton);
        break;
      case "delete": {
        // A submit button, so that it works without the script; here it goes through /api.
        event.preventDefault();
        const next = item.nextElementSibling || item.previousElementSibling;
        const nextId = next ? next.dataset.id : null;
        const title = item.querySelector(".title").lastChild.textContent.trim();
        button.disabled = true;
        perform(() => api("DELETE", "/api/tasks/" + encodeURIComponent(id)), () => {
          sayChanged("Deleted “" + title + "”.", title);
          focusById(nextId ? "done-" + nextId : "new-title", "new-title");
        });
        break;
      }
      default:
        break;
    }
  });

  // Undo: the bar's form goes through /api here (without the script it posts to /undo).
  region.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "undo-form") return;
    event.preventDefault();
    const change = Number(form.dataset.change);
    form.querySelector("button").disabled = true;
    perform(() => api("POST", "/api/undo", { change }), (answer) => {
      say((answer && answer.reply) || "Undone.", "ok");
      const back = answer && Array.isArray(answer.tasks) && answer.tasks[0];
      focusById(back ? "done-" + back.id : "new-title", "new-title");
    });
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
      sayChanged("Saved “" + title + "”.", title);
      const item = document.getElementById("task-" + id);
      const edit = item && item.querySelector("button[data-action=edit]");
      if (edit) edit.focus();
    });
  });

  // The chat panel: docked at the bottom of the screen on a phone.
  const chat = document.getElementById("chat");
  const chatForm = document.getElementById("chat-form");
  const chatLog = document.getElementById("chat-log");
  const chatInput = document.getElementById("chat-message");
  const chatToggle = document.getElementById("chat-toggle");
  const docked = window.matchMedia("(max-width: 899.98px)");

  // The list keeps clear of the docked panel: its height is the page's bottom padding.
  function fitDock() {
    const height = docked.matches ? chat.offsetHeight : 0;
    document.documentElement.style.setProperty("--dock-height", height + "px");
  }
  if (window.ResizeObserver) new ResizeObserver(fitDock).observe(chat);
  docked.addEventListener("change", fitDock);

  function showConversation(open) {
    chat.classList.toggle("collapsed", !open);
    chatToggle.setAttribute("aria-expanded", String(open));
    chatToggle.textContent = open ? "Hide conversation" : "Show conversation";
    fitDock();
  }
  chatToggle.addEventListener("click", () => {
    showConversation(chat.classList.contains("collapsed"));
  });

  function savedLines() {
    try {
      const lines = JSON.parse(stored.get(CHAT_KEY) || "[]");
      return Array.isArray(lines) ? lines : [];
    } catch (_) {
      return [];
    }
  }

  function keep(kind, text) {
    const lines = savedLines();
    lines.push({ kind, text });
    stored.set(CHAT_KEY, JSON.stringify(lines.slice(-40)));
  }

  // Shows a line; a reply taller than the log is shown from its start.
  function chatLine(kind, text) {
    const line = document.createElement("li");
    line.className = kind;
    line.textContent = text;
    chatLog.append(line);
    const fromTop = line.offsetTop - chatLog.offsetTop;
    chatLog.scrollTop = line.offsetHeight > chatLog.clientHeight
      ? fromTop
      : chatLog.scrollHeight;
    return line;
  }

  for (const line of savedLines()) {
    if ((line.kind === "me" || line.kind === "bot") && typeof line.text === "string") {
      chatLine(line.kind, line.text);
    }
  }
  // On a phone each page starts with the conversation folded away, so the first screen
  // shows the tasks and the message box; sending a message (or the button) unfolds it.
  showConversation(!docked.matches);
  docked.addEventListener("change", () => showConversation(!docked.matches));

  async function sendChat(message) {
    const button = chatForm.querySelector("button[type=submit]");
    button.disabled = true;
    setBusy(1);
    const typing = document.createElement("li");
    typing.className = "bot typing";
    typing.setAttribute("aria-label", "The assistant is thinking");
    typing.innerHTML = "<span></span><span></span><span></span>";
    chatLog.append(typing);
    chatLog.scrollTop = chatLog.scrollHeight;
    try {
      const answer = await api("POST", "/api/chat", { message });
      typing.remove();
      const reply = (answer && answer.reply) || "Done.";
      chatLine("bot", reply);
      keep("bot", reply);
      say("");
      const changed = await refresh();
      if (!changed && answer && Array.isArray(answer.tasks) && answer.tasks.length > 0) {
        const named = document.getElementById("task-" + answer.tasks[0].id);
        if (named) showTask(named);
      }
    } catch (error) {
      typing.remove();
      if (error.status === 401) return;
      if (retriable(error)) {
        const line = chatLine("error", error.message + " ");
        const retry = document.createElement("button");
        retry.type = "button";
        retry.className = "button secondary small";
        retry.textContent = "Retry";
        retry.addEventListener("click", () => { line.remove(); sendChat(message); });
        line.append(retry);
      } else {
        // Sending the same words again would fail again: hand them back to edit.
        chatLine("error", error.message.replace(/[.\s]+$/, "") + ". Edit your message and send it again.");
        if (!chatInput.value) {
          chatInput.value = message;
          updateCounter(chatInput);
        }
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
    const tooLong = overLimit(chatInput, "The message");
    if (tooLong) {
      chatLine("error", tooLong);
      showConversation(true);
      return;
    }
    showConversation(true);
    chatLine("me", message);
    keep("me", message);
    chatInput.value = "";
    updateCounter(chatInput);
    chatInput.focus();
    sendChat(message);
  });
})();
