#!/usr/bin/env bash
# Kura installer.
#   ./install.sh --dev             create .venv in this checkout with the project and its test extras
#   sudo ./install.sh [OPTIONS]    install or upgrade Kura as systemd services on this host
#   sudo ./install.sh --uninstall [--purge [--yes]]
#   ./install.sh --update-lock     re-resolve requirements.lock and requirements-test.lock
# Every dependency is installed from a lock file, pinned and hash-checked, so an install gets the
# versions the tests passed with, not whatever is newest that day; Kura itself goes in after, --no-deps.
# Run ./install.sh --help for the options. See README.md, "Deployment".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PREFIX=/opt/kura                  # the virtualenv holding the code
ETC=/etc/kura                     # kura.env: the settings, never overwritten
STATE=/var/lib/kura               # StateDirectory=kura: database, metrics, backups
UNIT_DIR=/etc/systemd/system
ADMIN_DIR=/usr/local/sbin         # `sudo kura ...`, `sudo kura-backup ...` as the kura user
SYSTEM_PYTHON=/usr/bin/python3    # not a pyenv one: ProtectHome= hides /root from the units
UNITS=(kura-api.service kura-monitor.service kura-backup.service kura-backup.timer
       kura-notify-failure@.service)
STARTED=(kura-api.service kura-monitor.service kura-backup.timer)
RUNTIME_LOCK="$here/requirements.lock"     # what the system install puts in $PREFIX
TEST_LOCK="$here/requirements-test.lock"   # the same pins plus the test tools, for --dev
UV_VERSION=0.13.9                          # the resolver that writes the locks (--update-lock)
LOCK_PYTHON=3.11                           # the oldest Python the locks must serve (Debian 12)

die() { echo "install.sh: $*" >&2; exit 1; }
usage_error() { echo "install.sh: $*" >&2; echo "run ./install.sh --help for the options" >&2; exit 2; }
say() { echo "==> $*"; }

usage() {
    cat <<'EOF'
Usage:
  ./install.sh --dev                  development: .venv in this checkout (no root needed)
  sudo ./install.sh [OPTIONS]         install, or upgrade in place, as systemd services
  sudo ./install.sh --uninstall [--purge [--yes]]
  ./install.sh --update-lock [UV-OPTIONS]
                                      re-resolve the lock files from pyproject.toml with uv; pins
                                      still allowed are kept unless you add --upgrade (everything)
                                      or --upgrade-package NAME

Both installs take every dependency from the lock files, pinned and hash-checked
(pip install --require-hashes), then Kura itself with --no-deps.

Install options:
  --wheels DIR         install offline from a wheelhouse (pip --no-index --find-links DIR) holding
                       requirements.lock's files and Kura's wheel (README.md, "Deployment");
                       PIP_FIND_LINKS=DIR does the same
  --backup-time HH:MM  when the nightly backup runs (default 03:00; a re-run keeps the current one)
Uninstall options:
  --uninstall          stop and remove the units and the code; keeps /var/lib/kura and /etc/kura
  --purge              also delete /var/lib/kura (database, backups), /etc/kura and the kura user;
                       asks on a terminal, refused without one unless --yes
  --yes                do not ask (for --purge)
EOF
}

install_dev() {
    local py="${PYTHON:-python3}"
    command -v "$py" >/dev/null || die "no $py found: install Python 3.11 or newer"
    "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$py is $("$py" -V 2>&1); Kura needs Python 3.11 or newer"
    [ -x "$here/.venv/bin/python" ] || "$py" -m venv "$here/.venv"
    # pip stays the one the venv came with: upgrading it to the newest of the day would be the one
    # unpinned install left. The editable install is what the tests and coverage run against.
    local pip=("$here/.venv/bin/python" -m pip --disable-pip-version-check)
    "${pip[@]}" install --quiet --use-pep517 --require-hashes -r "$TEST_LOCK" \
        || die "pip install from $TEST_LOCK failed (see above)"
    "${pip[@]}" install --quiet --no-deps -e "$here" || die "pip install -e $here failed (see above)"
    install_test_programs
    install_test_browser
    echo "Kura development environment ready in $here/.venv (dependencies as pinned in $(basename "$TEST_LOCK"))"
    echo "  run the API:    .venv/bin/kura db upgrade && .venv/bin/kura-api"
    echo "  run the tests:  .venv/bin/python -m pytest"
}

# Programs some tests run, from Debian's packages: nginx and caddy check and serve the reverse-proxy
# examples in deploy/proxy/ (tests/deploy/test_proxy_examples.py), openssl makes their certificate,
# curl runs the README's examples (tests/test_readme_walkthrough.py).
# Installed only where that can happen unattended (root, apt-get); their services are neither started
# nor enabled, since the tests run their own copies on free ports. Elsewhere: a note, and the tests
# skip saying what is missing.
TEST_PROGRAMS=(nginx caddy openssl curl)
install_test_programs() {
    local missing=() program
    for program in "${TEST_PROGRAMS[@]}"; do
        command -v "$program" >/dev/null || [ -x "/usr/sbin/$program" ] || missing+=("$program")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "note: some tests need ${missing[*]}: sudo apt-get install ${missing[*]}"
        return 0
    fi
    say "installing ${missing[*]} from Debian's packages for the tests (services not started)"
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then  # "do not start services", for the length of this install only
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
    fi
    local ok=1
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null; } || ok=0
    [ "$made_policy" = 0 ] || rm -f "$policy"
    if [ -d /run/systemd/system ]; then  # only the services this install brought
        for program in "${missing[@]}"; do
            [ "$program" = openssl ] || [ "$program" = curl ] || systemctl disable --now --quiet "$program.service" 2>/dev/null || true
        done
    fi
    [ "$ok" = 1 ] || echo "install.sh: apt-get could not install ${missing[*]}; the tests that run them will fail" >&2
}

# The browser tests (tests/browser/) drive Debian's chromium through Playwright: a browser from the
# distribution's packages, never one downloaded by `playwright install`. Installed only where that can
# happen unattended (root, apt-get); `apt-get update` only when the install fails, e.g. for want of a
# package list. Elsewhere: a note, and the browser tests skip (or fail under CI) saying what is missing.
BROWSER=/usr/bin/chromium
install_test_browser() {
    [ -x "$BROWSER" ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "note: the browser tests need $BROWSER: sudo apt-get install chromium"
        return 0
    fi
    say "installing chromium from Debian's packages for the browser tests"
    local get=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)
    "${get[@]}" >/dev/null 2>&1 || { apt-get update -qq && "${get[@]}" >/dev/null; } \
        || echo "install.sh: apt-get could not install chromium; the browser tests will fail" >&2
}

# --- checks ------------------------------------------------------------------------------
require_root_and_systemd() {
    [ "$(id -u)" -eq 0 ] || die "the system install needs root: run sudo ./install.sh (or ./install.sh --dev for a checkout)"
    command -v systemctl >/dev/null && [ -d /run/systemd/system ] \
        || die "this host is not running systemd (no /run/systemd/system): Kura's services need it; use ./install.sh --dev to run from a checkout"
}

check_wheelhouse() {
    [ -d "$1" ] || usage_error "--wheels $1: no such directory"
    compgen -G "$1/*.whl" >/dev/null || usage_error "--wheels $1: no *.whl files in it (how to build one: README.md, \"Deployment\")"
}

check_backup_time() {
    [[ "$1" =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || usage_error "--backup-time $1: expected HH:MM, e.g. 03:00"
}

ensure_python() {
    [ -x "$SYSTEM_PYTHON" ] || die "$SYSTEM_PYTHON not found: install python3 (3.11 or newer) from your distribution"
    "$SYSTEM_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$SYSTEM_PYTHON is $("$SYSTEM_PYTHON" -V 2>&1); Kura needs Python 3.11 or newer"
}

create_venv() {
    say "creating the virtualenv $PREFIX"
    "$SYSTEM_PYTHON" -m venv "$PREFIX" 2>/dev/null && return 0
    # Debian and Ubuntu ship venv without ensurepip unless python3-venv is installed.
    rm -rf "$PREFIX"
    command -v apt-get >/dev/null || die "$SYSTEM_PYTHON cannot create a virtualenv: install its venv module"
    say "installing python3-venv"
    apt-get install -y python3-venv >/dev/null || die "apt-get install python3-venv failed"
    "$SYSTEM_PYTHON" -m venv "$PREFIX" || die "$SYSTEM_PYTHON -m venv $PREFIX failed"
}

# --- install -----------------------------------------------------------------------------
ensure_user() {
    getent group kura >/dev/null || groupadd --system kura
    getent passwd kura >/dev/null || useradd --system --gid kura --home-dir "$STATE" --no-create-home \
        --shell /usr/sbin/nologin --comment "Kura bookmark service" kura
}

install_code() {
    local wheels="$1" opts=(--quiet --disable-pip-version-check) target="$here"
    [ -x "$PREFIX/bin/python" ] || create_venv
    if [ -n "$wheels" ]; then
        opts+=(--no-index --find-links "$wheels")
        # A wheelhouse that holds Kura's own wheel (`pip wheel --no-deps .`): install that exact file.
        local wheel
        wheel="$(compgen -G "$wheels/kura-*.whl" | sort -V | tail -n 1 || true)"
        [ -n "$wheel" ] && target="$wheel"
    fi
    say "installing the dependencies pinned in $(basename "$RUNTIME_LOCK") into $PREFIX"
    # --use-pep517: sdnotify ships only as source; build it in an isolated environment under every
    # pip (Debian 12's falls back to `setup.py install` otherwise), from the wheelhouse when offline.
    PIP_FIND_LINKS= "$PREFIX/bin/python" -m pip install "${opts[@]}" --use-pep517 --require-hashes -r "$RUNTIME_LOCK" \
        || die "pip install from $RUNTIME_LOCK failed (see above)"
    say "installing $(basename "$target") into $PREFIX"
    # --force-reinstall: pip keeps an installed kura of the same version; a re-run must still replace the code.
    PIP_FIND_LINKS= "$PREFIX/bin/python" -m pip install "${opts[@]}" --force-reinstall --no-deps "$target" \
        || die "pip install failed (see above)"
}

write_settings() {
    install -d -m 0750 -o root -g kura "$ETC"
    if [ -e "$ETC/kura.env" ]; then
        say "keeping your settings in $ETC/kura.env"
    else
        install -m 0640 -o root -g kura "$here/deploy/kura.env.example" "$ETC/kura.env"
        say "wrote $ETC/kura.env (commented defaults; edit it for email alerts)"
    fi
    install -d -m 0700 -o kura -g kura "$STATE"
}

write_admin_wrappers() {
    # `sudo kura ...` and `sudo kura-backup ...` run as a transient unit: exactly the services' user,
    # settings and $STATE_DIRECTORY, without their /proc restrictions (restore looks for holders).
    local program
    for program in kura kura-backup; do
        {
            cat <<EOF
#!/bin/sh
# Written by Kura's install.sh: $program as the kura user, with the services' settings.
[ "\$(id -u)" -eq 0 ] || { echo "$program: run it as root: sudo $program \$*" >&2; exit 1; }
run() {
    exec systemd-run --quiet --pipe --wait --collect --service-type=exec --uid=kura --gid=kura \\
        -p EnvironmentFile=$ETC/kura.env -p StateDirectory=kura -p StateDirectoryMode=0700 -p UMask=0077 \\
        $PREFIX/bin/$program "\$@"
}
EOF
            if [ "$program" = kura ]; then import_as_caller; fi
            echo 'run "$@"'
        } >"$ADMIN_DIR/$program.tmp"
        chmod 0755 "$ADMIN_DIR/$program.tmp" && mv -f "$ADMIN_DIR/$program.tmp" "$ADMIN_DIR/$program"
    done
}

import_as_caller() {
    # The kura user cannot read a file in a private (0700) home, and runs in /, where a relative path
    # means nothing: `sudo kura import FILE` reads FILE here, as the user who ran sudo (so sudo grants
    # no one a way to read files they could not), and hands kura the bytes on stdin (`kura import -`).
    cat <<'EOF'
if [ "${1-}" = import ]; then
    n=$# i=0 file= prev=
    for arg do
        i=$((i + 1))
        if [ "$i" -gt 1 ] && [ -z "$file" ] && [ "${arg#-}" = "$arg" ] && [ "$prev" != --user ] \
            && [ "$prev" != --mode ]; then
            file=$arg arg=-
        fi
        set -- "$@" "$arg"
        prev=$arg
    done
    shift "$n"
    if [ -n "$file" ] && [ "$file" != - ]; then
        reader=${SUDO_USER:-root}
        runuser -u "$reader" -- test -r "$file" || { echo "kura: $reader cannot read $file" >&2; exit 1; }
        runuser -u "$reader" -- cat -- "$file" | run "$@"
        exit
    fi
fi
EOF
}

install_units() {
    local when="$1" current
    current="$(sed -n 's/^OnCalendar=//p' "$UNIT_DIR/kura-backup.timer" 2>/dev/null | head -n 1 || true)"
    if [ -n "$when" ]; then current="*-*-* $when:00"; fi
    for unit in "${UNITS[@]}"; do
        install -m 0644 "$here/deploy/systemd/$unit" "$UNIT_DIR/$unit"
    done
    if [ -n "$current" ]; then
        sed -i "s/^OnCalendar=.*/OnCalendar=$current/" "$UNIT_DIR/kura-backup.timer"
    fi
    say "nightly backup: $(sed -n 's/^OnCalendar=//p' "$UNIT_DIR/kura-backup.timer")"
}

env_value() {
    # The last KEY=value line for KEY in kura.env (quotes stripped), or the default given.
    local value
    value="$(sed -n "s/^[[:space:]]*$1=//p" "$ETC/kura.env" | tail -n 1 | tr -d "\"'")"
    echo "${value:-$2}"
}

api_url() {
    local host
    host="$(env_value KURA_HOST 127.0.0.1)"
    case "$host" in 0.0.0.0|::) host=127.0.0.1 ;; *:*) host="[$host]" ;; esac
    echo "http://$host:$(env_value KURA_PORT 8000)"
}

wait_ready() {
    local url
    url="$(api_url)/readyz"
    say "waiting for $url"
    "$PREFIX/bin/python" - "$url" <<'EOF' || die "the API did not become ready; see: journalctl -u kura-api -e"
import sys, time, urllib.request
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as resp:
            if resp.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(1)
EOF
}

next_steps() {
    cat <<EOF

Kura is running.
  create the first user and token:  sudo kura user add alice --admin
                                    sudo kura token create alice --label laptop
  the API:                          $(api_url)  (loopback only; put a TLS proxy in front)
  settings:                         $ETC/kura.env, then: sudo systemctl restart kura-api kura-monitor
  status and logs:                  systemctl status kura-api kura-monitor kura-backup.timer
                                    journalctl -u kura-api -p err     (errors only)
                                    systemctl list-timers kura-backup.timer
  upgrade:                          git pull && sudo ./install.sh
EOF
}

install_system() {
    local wheels="$1" when="$2"
    require_root_and_systemd
    ensure_python
    ensure_user
    install_code "$wheels"
    write_settings
    write_admin_wrappers
    install_units "$when"
    systemctl daemon-reload
    # Stop before the schema upgrade so no old code ever runs against a newer schema.
    systemctl stop kura-api.service kura-monitor.service 2>/dev/null || true
    say "upgrading the database schema"
    "$ADMIN_DIR/kura" db upgrade || die "the schema upgrade failed; the old services stay stopped"
    systemctl enable --quiet "${STARTED[@]}"
    systemctl restart "${STARTED[@]}" || die "a unit failed to start; see: systemctl status kura-api kura-monitor"
    wait_ready
    next_steps
}

# --- lock files --------------------------------------------------------------------------
update_lock() {
    # uv, not pip-tools: uv resolves for every Python Kura supports at once (--universal, from
    # LOCK_PYTHON up; a line that must differ between 3.11 and 3.13 gets a marker) without those
    # interpreters being installed. Pinned here, so the same inputs give the same files.
    local py="${PYTHON:-python3}" tools
    command -v "$py" >/dev/null || die "no $py found: install Python 3.11 or newer"
    tools="$(mktemp -d)"
    trap "rm -rf '$tools'" EXIT  # expanded now: $tools is local, gone when the trap runs
    say "installing uv $UV_VERSION into a throw-away virtualenv"
    "$py" -m venv "$tools/venv" && "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "uv==$UV_VERSION" || die "could not install uv $UV_VERSION"
    local compile=("$tools/venv/bin/uv" pip compile --quiet --universal --python-version "$LOCK_PYTHON"
                   --generate-hashes --no-strip-extras --custom-compile-command "./install.sh --update-lock" "$@")
    cd "$here"
    "${compile[@]}" pyproject.toml -o "$(basename "$RUNTIME_LOCK")" || die "uv could not resolve pyproject.toml"
    # The test lock is constrained to the runtime lock: the tests run exactly what production installs.
    "${compile[@]}" pyproject.toml --extra test -c "$(basename "$RUNTIME_LOCK")" -o "$(basename "$TEST_LOCK")" \
        || die "uv could not resolve pyproject.toml with the test extra"
    say "wrote $(basename "$RUNTIME_LOCK") and $(basename "$TEST_LOCK"); now: ./install.sh --dev and the tests, then commit both"
}

# --- uninstall ---------------------------------------------------------------------------
confirm_purge() {
    local yes="$1" answer
    [ "$yes" = 1 ] && return 0
    [ -t 0 ] || usage_error "--purge deletes $STATE (database and backups) and $ETC; refusing without a terminal to ask on: add --yes"
    read -r -p "Delete $STATE (the database and every backup) and $ETC for good? Type 'purge': " answer
    [ "$answer" = purge ] || die "not purging; nothing was changed"
}

uninstall_system() {
    local purge="$1"
    require_root_and_systemd
    systemctl disable --now --quiet "${STARTED[@]}" 2>/dev/null || true
    systemctl stop kura-backup.service 2>/dev/null || true
    for unit in "${UNITS[@]}"; do rm -f "$UNIT_DIR/$unit"; done
    systemctl daemon-reload
    systemctl reset-failed 'kura-*' 2>/dev/null || true
    rm -rf "$PREFIX" "$ADMIN_DIR/kura" "$ADMIN_DIR/kura-backup"
    say "removed the Kura units, $PREFIX and the kura, kura-backup commands in $ADMIN_DIR"
    if [ "$purge" = 1 ]; then
        rm -rf "$STATE" "$ETC"
        getent passwd kura >/dev/null && userdel kura
        getent group kura >/dev/null && groupdel kura
        say "purged $STATE, $ETC and the kura user"
    else
        say "kept your data in $STATE and settings in $ETC (remove them with --uninstall --purge)"
    fi
}

# --- arguments ---------------------------------------------------------------------------
main() {
    local mode=install wheels="${PIP_FIND_LINKS:-}" when="" purge=0 yes=0
    [ "${1:-}" = --dev ] && { [ $# -eq 1 ] || usage_error "--dev takes no other options"; install_dev; return; }
    [ "${1:-}" = --update-lock ] && { shift; update_lock "$@"; return; }
    while [ $# -gt 0 ]; do
        case "$1" in
            -h|--help) usage; return 0 ;;
            --uninstall) mode=uninstall ;;
            --purge) purge=1 ;;
            --yes) yes=1 ;;
            --wheels) [ $# -ge 2 ] || usage_error "--wheels needs a directory"; wheels="$2"; shift ;;
            --wheels=*) wheels="${1#--wheels=}" ;;
            --backup-time) [ $# -ge 2 ] || usage_error "--backup-time needs HH:MM"; when="$2"; shift ;;
            --backup-time=*) when="${1#--backup-time=}" ;;
            --dev) usage_error "--dev takes no other options" ;;
            --update-lock) usage_error "--update-lock comes first: ./install.sh --update-lock [UV-OPTIONS]" ;;
            *) usage_error "unknown option: $1" ;;
        esac
        shift
    done
    if [ "$mode" = uninstall ]; then
        [ -z "$when" ] || usage_error "--backup-time makes no sense with --uninstall"
        [ "$purge" = 1 ] && confirm_purge "$yes"
        uninstall_system "$purge"
    else
        [ "$purge" = 0 ] || usage_error "--purge only goes with --uninstall"
        [ -z "$wheels" ] || check_wheelhouse "$wheels"
        [ -z "$when" ] || check_backup_time "$when"
        install_system "$wheels" "$when"
    fi
}

main "$@"
