"""install.sh's argument handling and refusals: each a clear one-line reason and a non-zero exit.

Every case here stops before install.sh changes anything (the refusals come first by design); the
installation itself is exercised on a real systemd by tests/system.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL = Path(__file__).resolve().parents[2] / "install.sh"


def run(*args: str, env: dict[str, str] | None = None, user: str | None = None,
        script: Path = INSTALL) -> subprocess.CompletedProcess[str]:
    argv = [str(script), *args]
    if user:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    # cwd "/": an unprivileged user may not be able to enter the caller's working directory.
    return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
                          env={**os.environ, **(env or {})}, check=False, cwd="/")


def test_help_lists_every_option() -> None:
    done = run("--help")
    assert done.returncode == 0
    for option in ("--dev", "--wheels DIR", "--backup-time HH:MM", "--uninstall", "--purge", "--yes",
                   "--update-lock", "--require-hashes"):
        assert option in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--frobnicate"], "unknown option: --frobnicate"),
    (["--purge"], "--purge only goes with --uninstall"),
    (["--dev", "--wheels", "/tmp"], "--dev takes no other options"),
    (["--wheels", "/tmp", "--update-lock"], "--update-lock comes first: ./install.sh --update-lock [UV-OPTIONS]"),
    (["--wheels"], "--wheels needs a directory"),
    (["--backup-time"], "--backup-time needs HH:MM"),
    (["--backup-time", "3am"], "--backup-time 3am: expected HH:MM"),
    (["--backup-time=24:00"], "--backup-time 24:00: expected HH:MM"),
    (["--uninstall", "--backup-time", "03:00"], "--backup-time makes no sense with --uninstall"),
    (["--wheels", "/no/such/wheelhouse"], "--wheels /no/such/wheelhouse: no such directory"),
])
def test_bad_arguments_are_refused_with_the_reason(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith(f"install.sh: {message}")
    assert done.stdout == ""


def test_a_wheelhouse_without_wheels_is_refused(tmp_path: Path) -> None:
    done = run(f"--wheels={tmp_path}")
    assert done.returncode == 2 and "no *.whl files in it" in done.stderr


def test_pip_find_links_counts_as_the_wheelhouse(tmp_path: Path) -> None:
    done = run(env={"PIP_FIND_LINKS": str(tmp_path)})
    assert done.returncode == 2 and f"--wheels {tmp_path}: no *.whl files in it" in done.stderr


def test_purge_is_refused_without_a_terminal_unless_yes() -> None:
    done = run("--uninstall", "--purge")
    assert done.returncode == 2
    assert "refusing without a terminal to ask on: add --yes" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to drop it")
def test_the_system_install_needs_root() -> None:
    # The checkout may live where uid 65534 cannot read (a 0700 temp dir, /root): run a copy of the
    # script from a world-readable directory, so the test is about the root check, not the checkout.
    with tempfile.TemporaryDirectory(dir="/tmp") as readable:  # /tmp: mode 1777, any uid can enter it
        os.chmod(readable, 0o755)
        script = Path(readable) / "install.sh"
        shutil.copy2(INSTALL, script)
        script.chmod(0o755)
        for args in ([], ["--uninstall"]):
            done = run(*args, user="65534", script=script)
            assert done.returncode == 1, done.stderr
            assert done.stderr.strip() == ("install.sh: the system install needs root: run sudo ./install.sh "
                                           "(or ./install.sh --dev for a checkout)")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to get past the root check")
@pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="this host runs systemd: it would install")
def test_the_system_install_needs_a_systemd_host() -> None:
    done = run()
    assert done.returncode == 1
    assert done.stderr.startswith("install.sh: this host is not running systemd (no /run/systemd/system)")
