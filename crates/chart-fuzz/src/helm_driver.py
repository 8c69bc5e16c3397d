"""Helm's engine behind a line protocol, for deploykit-chart-fuzz's differential tester.

One long-lived process: each request is one JSON line on stdin, each answer one JSON
line on stdout, so thousands of renders cost no process start each.

  {"op": "render", "chart": DIR}  -> {"ok": {template path: text}} | {"refused": msg}
  {"op": "values", "text": YAML}  -> {"ok": values} | {"refused": msg}
  {"op": "set", "text": EXPR}     -> {"ok": values} | {"refused": msg}
  (also "set-string", "set-json", "set-literal": Helm's other --set flags)

Helm renders as `helm template` does by default: release `release-name` in `default`,
revision 1, an install, the chart's own values only. A failure of this driver itself
(not Helm's refusal) answers {"broken": msg}.
"""
import json
import resource
import sys

# A generated template can loop for ever in Go (untilStep whose int step wraps round):
# the process then dies at 4 GiB instead of taking the machine's memory with it.
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

import ctypes  # noqa: E402
import helm_python as helm  # noqa: E402 (after the limit: libhelm loads here)
from helm_python import _native  # noqa: E402


def take_string_lossy(ptr):
    """The SDK's take_string, but text that is not UTF-8 (an error quoting a Go string
    cut inside a character) is read with U+FFFD for its stray bytes instead of failing."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", errors="replace")
    finally:
        _native.lib.helm_free_string(ctypes.c_void_p(ptr))


_native.take_string = take_string_lossy


def answer(request):
    op = request.get("op")
    try:
        if op == "render":
            with helm.Chart.load(request["chart"]) as chart:
                out = chart.render(None, name="release-name", namespace="default",
                                   revision=1, is_install=True, is_upgrade=False)
            return {"ok": out}
        if op == "values":
            return {"ok": helm.values_from_yaml(request["text"])}
        if op == "set":
            return {"ok": helm.parse_set_string(request["text"])}
        if op == "set-string":
            return {"ok": helm.parse_set_string_values(request["text"])}
        if op == "set-json":
            return {"ok": helm.parse_set_json(request["text"])}
        if op == "set-literal":
            return {"ok": helm.parse_set_literal(request["text"])}
        return {"broken": f"unknown op {op!r}"}
    except helm.HelmError as error:
        return {"refused": str(error)}
    except Exception as error:  # the driver's own failure, not Helm's answer
        return {"broken": f"{type(error).__name__}: {error}"}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
