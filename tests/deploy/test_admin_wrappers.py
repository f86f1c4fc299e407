"""install.sh's `sudo kura ...` wrapper: `sudo kura import FILE` works for a FILE in a private home.

The kura user cannot read a 0700 home and runs in `/`, so the wrapper reads FILE as the user who ran
sudo and hands kura the bytes on standard input. systemd cannot run here: a stand-in `systemd-run`
on PATH does the part of the transient unit that matters to this, running the program in `/` without
the power to read other users' files (root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, as the
`kura` user has none: unlike switching to another user, it still reaches a checkout in a 0700
folder, as CI's may be); everything else is the real wrapper, runuser and `kura`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from domain.transfer import childparse

ROOT = Path(__file__).resolve().parents[2]
CHROME = ROOT / "tests" / "fixtures" / "bookmarks" / "chrome.html"
VENV = Path(sys.executable).parent.parent  # the wrapper runs $PREFIX/bin/kura
STAND_IN = """#!/bin/sh
# systemd-run's stand-in: the transient unit's working directory, and no reading of others' files.
while [ $# -gt 0 ]; do case "$1" in -p) shift 2 ;; -*) shift ;; *) break ;; esac; done
cd / && exec setpriv --bounding-set=-dac_override,-dac_read_search --inh-caps=-dac_override,-dac_read_search "$@"
"""
Wrapper = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def box() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("the wrapper runs as root and switches users")
    path = Path(tempfile.mkdtemp(prefix="kura-wrapper-"))  # not under pytest's root-only tmp dir
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def sudo_kura(box: Path) -> Wrapper:
    """The installed `kura` wrapper, run as root by sudo on behalf of `nobody`."""
    (box / "bin").mkdir()
    (box / "bin" / "systemd-run").write_text(STAND_IN)
    (box / "bin" / "systemd-run").chmod(0o755)
    (box / "sbin").mkdir()
    script = (f"source <(sed '$d' {ROOT / 'install.sh'}); ADMIN_DIR={box / 'sbin'} PREFIX={VENV} "
              f"ETC={box / 'etc'}; write_admin_wrappers")  # install.sh without its last line, main "$@"
    subprocess.run(["bash", "-c", script], check=True, timeout=30)
    (box / "data").mkdir()
    env = {**os.environ, "PATH": f"{box / 'bin'}:{os.environ['PATH']}", "KURA_DATA_DIR": str(box / "data"),
           "SUDO_USER": "nobody"}

    def run(*args: str, cwd: Path = Path("/")) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(box / "sbin" / "kura"), *args], env=env, cwd=cwd, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)

    assert run("db", "upgrade").returncode == 0
    assert run("user", "add", "alice").returncode == 0
    return run


@pytest.fixture
def private_home(box: Path) -> Path:
    home = box / "home"
    home.mkdir(mode=0o700)
    shutil.copy(CHROME, home / "bookmarks.html")
    for path in (home, home / "bookmarks.html"):
        os.chown(path, 65534, 65534)  # nobody's
    return home


def test_sudo_kura_import_reads_a_file_in_a_private_home_as_the_caller(sudo_kura: Wrapper, private_home: Path) -> None:
    done = sudo_kura("import", str(private_home / "bookmarks.html"), "--user", "alice")
    assert (done.returncode, done.stdout, done.stderr) == (0, "created 5, updated 1, unchanged 0, skipped 0\n", "")


def test_sudo_kura_import_takes_a_path_relative_to_where_it_was_run(sudo_kura: Wrapper, private_home: Path) -> None:
    done = sudo_kura("import", "--user", "alice", "--mode", "strict", "bookmarks.html", cwd=private_home)
    assert (done.returncode, done.stdout) == (0, "created 5, updated 1, unchanged 0, skipped 0\n")


def test_sudo_kura_import_reads_nothing_the_caller_may_not_read(sudo_kura: Wrapper, box: Path) -> None:
    secret = box / "secret.html"
    shutil.copy(CHROME, secret)
    secret.chmod(0o600)  # root's alone: sudo must not make it readable to the one who ran it
    done = sudo_kura("import", str(secret), "--user", "alice")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"kura: nobody cannot read {secret}\n")
    assert "\talice\t" in sudo_kura("user", "list").stdout and sudo_kura("export", "--user", "alice").stdout.count(
        "<DT><A") == 0


def test_sudo_kura_import_of_a_file_over_a_mebibyte_imports_all_of_it(sudo_kura: Wrapper, private_home: Path) -> None:
    # Large enough for kura to copy the piped bytes to a temporary file and parse them in a second
    # process (domain/transfer/childparse.py), as the kura user in /, unable to read others' files.
    links = "".join(f'<DT><A HREF="https://example.com/{i}" ADD_DATE="1700000000">page {i}</A>\n' for i in range(14_000))
    big = private_home / "big.html"
    big.write_text(f"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n{links}</DL>\n")
    os.chown(big, 65534, 65534)
    assert big.stat().st_size >= childparse.MIN_BYTES
    done = sudo_kura("import", str(big), "--user", "alice")
    assert (done.returncode, done.stdout, done.stderr) == (0, "created 14000, updated 0, unchanged 0, skipped 0\n", "")
