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
if [ ! -x .venv/bin/cleanroom ]; then
  echo "try-sim.sh: installing cleanroom into .venv (once)"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
exec .venv/bin/cleanroom sim "$@"
