#!/bin/sh
# One command for every benchmark: installs wrk (Debian's package) if missing, then runs the harness.
#   bench/run.sh                 # everything: median of 3, 5 s per case, ~1 GB backup file (cached)
#   bench/run.sh --quick         # a short smoke run
#   bench/run.sh --compare bench/results/OLD.json
#   bench/run.sh --only crash --kills 200   # issue 10's crash drill and 200-writer burst
set -eu
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; } ||
        echo "bench/run.sh: could not install wrk; only the load section needs it" >&2
fi
[ -x .venv/bin/python ] || ./install.sh --dev
exec env PYTHONPATH=. .venv/bin/python -m bench "$@"
