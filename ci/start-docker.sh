#!/usr/bin/env bash
# Starts dockerd in the background (as root) and waits until its socket answers.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
log=/tmp/dockerd.log
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then echo "dockerd is up"; exit 0; fi
  sleep 1
done
echo "dockerd did not start within 60 s; its log:" >&2
tail -n 40 "$log" >&2
exit 1
