#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what the tests need (the system's Mosquitto,
# Chromium and Prometheus's promtool, a virtual environment with the project and its test tools), checks
# lint and types, then runs every test in parallel. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v psql >/dev/null 2>&1 || missing+=(postgresql)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v dtc >/dev/null 2>&1 || missing+=(device-tree-compiler)  # compiles hardware.md's tachometer overlay
# The deployment tests (tests/deploy/test_container_service.py, test_arm64_install.py) boot Debian root
# file systems under systemd-nspawn, the arm64 one under qemu emulation; as root, install what they need.
if [ "$(id -u)" = 0 ]; then
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
  command -v qemu-aarch64-static >/dev/null 2>&1 || missing+=(qemu-user-static)
  command -v update-binfmts >/dev/null 2>&1 || missing+=(binfmt-support)
fi

if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "tests/run.sh: installing ${missing[*]} from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    for tool in mosquitto chromium shellcheck psql promtool dtc; do
      command -v "$tool" >/dev/null 2>&1 || { echo "tests/run.sh: $tool is still missing after the install" >&2; exit 1; }
    done
  else
    echo "tests/run.sh: please install ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"
.venv/bin/ruff check controller drivers web tests bench
.venv/bin/ruff format --check controller drivers web tests bench
echo "== mypy"
.venv/bin/mypy controller drivers web tests bench
echo "== import layers"
.venv/bin/lint-imports
echo "== pytest"
exec .venv/bin/python -m pytest -n 2 -p no:cacheprovider "$@"
