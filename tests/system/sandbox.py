"""A real systemd booted in a throw-away sandbox (the recipe in issue 6, done by boot_sandbox.sh).

`unshare` gives fresh pid/mount/net/uts/ipc namespaces; boot_sandbox.sh mounts a tmpfs-backed
overlay of / and chroots systemd into it, so every write vanishes with the sandbox. Commands run
inside with nsenter. Ending it is `kill -9` of that systemd: the namespaces, their mounts and every
process in them go with it; the empty cgroups systemd made on the host are removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

BOOT_SCRIPT = Path(__file__).with_name("boot_sandbox.sh")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def unavailable_reason() -> str | None:
    """Why this machine cannot boot the sandbox, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (unshare, mount and chroot)"
    for tool in ("unshare", "nsenter", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"no {tool} on PATH"
    if not Path("/lib/systemd/systemd").is_file():
        return "no /lib/systemd/systemd to boot"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlay file system"
    if Path("/run/systemd/system").is_dir():
        return "the host runs systemd itself; run install.sh on it directly instead"
    return None


def _cgroup_dirs() -> set[Path]:
    found: set[Path] = set()
    for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
        for top, dirs, _files in os.walk(hierarchy):
            found.update(Path(top, d) for d in dirs)
    return found


class Sandbox:
    def __init__(self, scratch: Path, *, binds: Sequence[Path] = ()) -> None:
        self.scratch = scratch
        self.binds = [str(p) for p in binds]
        self.pid = 0
        self._unshare: subprocess.Popen[bytes] | None = None
        self._cgroups_before: set[Path] = set()

    # --- lifecycle -------------------------------------------------------------------------
    def boot(self, timeout: float = 60) -> None:
        self._cgroups_before = _cgroup_dirs()
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._log = open(self.scratch.with_suffix(".boot.log"), "wb")  # noqa: SIM115 - closed in stop()
        self._unshare = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "--net", "--uts", "--ipc", "--propagation", "private",
             str(BOOT_SCRIPT), str(self.scratch), *self.binds],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.pid:
            if self._unshare.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start: {self.boot_log()}")
            children = Path(f"/proc/{self._unshare.pid}/task/{self._unshare.pid}/children")
            first = children.read_text().split() if children.exists() else []
            if first and Path(f"/proc/{first[0]}/exe").exists() and self._is_systemd(int(first[0])):
                self.pid = int(first[0])
            time.sleep(0.1)
        # Until systemd has its private socket up, systemctl cannot even ask.
        while True:
            state = self.run(["systemctl", "is-system-running", "--wait"], check=False, timeout=timeout)
            if state.stdout.strip() in ("running", "degraded"):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox systemd did not come up: {state.stdout} {state.stderr} "
                                   f"{self.boot_log()}")
            time.sleep(0.2)

    @staticmethod
    def _is_systemd(pid: int) -> bool:
        try:
            return os.readlink(f"/proc/{pid}/exe").endswith("/systemd")
        except OSError:
            return False

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._unshare is not None:
            try:
                self._unshare.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._unshare.pid, signal.SIGKILL)
                self._unshare.wait(timeout=30)
            self._log.close()
        self._remove_new_cgroups()

    def _remove_new_cgroups(self) -> None:
        # Deepest first; rmdir only ever removes an empty cgroup, and only ones the sandbox made.
        deadline = time.monotonic() + 10
        leftovers = sorted(_cgroup_dirs() - self._cgroups_before, key=lambda p: len(p.parts), reverse=True)
        while leftovers and time.monotonic() < deadline:
            for path in list(leftovers):
                try:
                    path.rmdir()
                    leftovers.remove(path)
                except FileNotFoundError:
                    leftovers.remove(path)
                except OSError:
                    pass  # its processes are still being reaped
            time.sleep(0.1)

    def boot_log(self) -> str:
        path = self.scratch.with_suffix(".boot.log")
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    # --- commands inside -------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, check: bool = True, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-i", "-n", "-r", "-w", *argv],
            capture_output=True, text=True, timeout=timeout, input=input, check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def sh(self, script: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self.run(["sh", "-c", script], **kwargs)  # type: ignore[arg-type]

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.run(["systemctl", "show", unit, "--no-pager", "-p", ",".join(props)]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(self, what: str, predicate, timeout: float, interval: float = 0.5):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)
