#!/usr/bin/env bash
# Kura installer.
#   ./install.sh --dev   create .venv in this checkout with the project and its test extras
# (the system installation, `sudo ./install.sh`, is added by the deployment work)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { echo "install.sh: $*" >&2; exit 1; }

install_dev() {
    local py="${PYTHON:-python3}"
    command -v "$py" >/dev/null || die "no $py found: install Python 3.11 or newer"
    "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$py is $("$py" -V 2>&1); Kura needs Python 3.11 or newer"
    [ -x "$here/.venv/bin/python" ] || "$py" -m venv "$here/.venv"
    "$here/.venv/bin/python" -m pip install --quiet --upgrade pip
    "$here/.venv/bin/python" -m pip install --quiet -e "$here[test]"
    echo "Kura development environment ready in $here/.venv"
    echo "  run the API:    .venv/bin/kura db upgrade && .venv/bin/kura-api"
    echo "  run the tests:  .venv/bin/python -m pytest"
}

case "${1:-}" in
    --dev) install_dev ;;
    *) die "usage: ./install.sh --dev" ;;
esac
