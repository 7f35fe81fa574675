#!/usr/bin/env bash
# Try cleanroom with no hardware: makes the virtual environment .venv with this project in it (the first
# time only), then runs the simulator: a simulated battery, fan and room, SQLite history, the dashboard on
# http://127.0.0.1:8080 and MQTT if a broker answers on localhost. Arguments go to `cleanroom sim`, e.g.
#   bash deploy/try-sim.sh --speed 600 --scenario grid-returns
#   bash deploy/try-sim.sh --accelerated --json          # a 7-day outage in seconds, then a summary
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "try-sim.sh: cleanroom needs Python 3.11 or later as python3" >&2
  exit 1
fi
say() { echo "try-sim.sh: $*" >&2; }

# pip's own lines, shortened to one per library fetched and the final list; its errors pass through on stderr
show_progress() {
  sed -un \
    -e 's/^Collecting \([A-Za-z0-9_.-]*\).*/  getting \1/p' \
    -e 's/^Processing [^ ]*\/\([A-Za-z0-9_.]*\)-[0-9][^ ]*.*/  getting \1/p' \
    -e 's/^Building editable for \([^ ]*\).*/  building \1/p' \
    -e 's/^Installing collected packages: /  installing: /p' \
    -e 's/^Successfully installed .*/  done/p' >&2
}

if [ ! -x .venv/bin/cleanroom ]; then
  say "first run: making the virtual environment .venv (once; later runs start at once)"
  if ! python3 -m venv .venv; then
    say "python3 cannot make a virtual environment; on Debian or Raspberry Pi OS: sudo apt-get install python3-venv"
    exit 1
  fi
  say "installing cleanroom and the libraries it needs (pint, pymodbus, aiomqtt, FastAPI, uvicorn, SQLAlchemy...)"
  .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -e . | show_progress
  say "installed; starting the simulator"
fi
exec .venv/bin/cleanroom sim "$@"
