"""The unit files: systemd-analyze verify and security, and what the issue asks of each unit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
SERVICES = ["kura-api.service", "kura-monitor.service", "kura-backup.service", "kura-notify-failure@.service"]
PROGRAMS = ["kura", "kura-api", "kura-backup", "kura-monitor"]
# A setting may share the comment of the line above only when it completes the same lock.
SHARES_A_COMMENT = {"ProcSubset", "AmbientCapabilities", "SystemCallFilter", "SystemCallErrorNumber"}

needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")


def settings(name: str) -> dict[str, list[str]]:
    """Key -> every value it is given, across sections (enough for these files)."""
    found: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def one(name: str, key: str) -> str:
    [value] = settings(name)[key]
    return value


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=60, check=False)


@needs_analyze
@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_within_the_exposure_budget(service: str) -> None:
    done = analyze("security", "--offline=yes", "--threshold=20", "--no-pager", str(UNITS / service))
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout).group(1))  # type: ignore[union-attr]
    assert score <= 2.0


@needs_analyze
def test_an_unhardened_service_fails_the_same_budget(tmp_path: Path) -> None:
    bare = tmp_path / "bare.service"
    bare.write_text("[Service]\nExecStart=/bin/true\n")
    assert analyze("security", "--offline=yes", "--threshold=20", "--no-pager", str(bare)).returncode != 0


def _root_with_programs(tmp_path: Path, programs: list[str]) -> Path:
    """A --root for verify: systemd's own units, ours, and stand-ins for the installed programs."""
    root = tmp_path / "root"
    shutil.copytree("/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    shutil.copytree(UNITS, root / "etc/systemd/system")
    for program in [f"opt/kura/bin/{p}" for p in programs] + ["bin/sh"]:  # ExecStopPost= runs /bin/sh
        (root / program).parent.mkdir(parents=True, exist_ok=True)
        (root / program).write_text("#!/bin/sh\nexit 0\n")
        (root / program).chmod(0o755)
    return root


VERIFIED = ["kura-api.service", "kura-monitor.service", "kura-backup.service", "kura-backup.timer",
            "kura-notify-failure@kura-api.service.service"]


@needs_analyze
@pytest.mark.skipif(not Path("/lib/systemd/system").is_dir(), reason="no systemd units to verify against")
def test_the_units_verify_clean_with_the_programs_installed(tmp_path: Path) -> None:
    root = _root_with_programs(tmp_path, PROGRAMS)
    done = analyze("verify", "--man=no", f"--root={root}", *VERIFIED)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


@needs_analyze
@pytest.mark.skipif(not Path("/lib/systemd/system").is_dir(), reason="no systemd units to verify against")
def test_verify_notices_a_program_that_is_not_installed(tmp_path: Path) -> None:
    root = _root_with_programs(tmp_path, [p for p in PROGRAMS if p != "kura-backup"])
    done = analyze("verify", "--man=no", f"--root={root}", *VERIFIED)
    assert done.returncode != 0 and "/opt/kura/bin/kura-backup" in done.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_every_hardening_line_says_what_it_locks_down(service: str) -> None:
    lines = (UNITS / service).read_text().split("# --- hardening", 1)[1].split("[Install]")[0].splitlines()
    previous = ""
    for line in lines[1:]:
        if line and not line.startswith("#"):
            key = line.split("=", 1)[0]
            assert previous.startswith("#") or key in SHARES_A_COMMENT, f"{service}: {line} has no comment"
        previous = line or previous


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_locked_down_the_same_way(service: str) -> None:
    got = settings(service)
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "PrivateDevices": "yes", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
                       "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
                       "RestrictNamespaces": "yes", "LockPersonality": "yes", "User": "kura",
                       "EnvironmentFile": "/etc/kura/kura.env", "UMask": "0077"}.items():
        assert got[key] == [value], (service, key)
    assert "@system-service" in got["SystemCallFilter"]


def test_only_the_monitor_sees_all_of_proc_and_only_the_backup_also_sees_the_host_counters() -> None:
    # The backup reads /proc/stat to narrow its work while other processes keep the cores busy.
    expected = {"kura-monitor.service": (None, None), "kura-backup.service": (["invisible"], None)}
    for service in SERVICES:
        proc = (settings(service).get("ProtectProc"), settings(service).get("ProcSubset"))
        assert proc == expected.get(service, (["invisible"], ["pid"])), service


def test_every_kura_service_mails_its_failures_but_the_mailer_does_not_loop() -> None:
    for service in ("kura-api.service", "kura-monitor.service", "kura-backup.service"):
        assert one(service, "OnFailure") == "kura-notify-failure@%n.service"
        assert one(service, "StateDirectory") == "kura" and one(service, "StateDirectoryMode") == "0700"
    assert "OnFailure" not in settings("kura-notify-failure@.service")
    assert one("kura-notify-failure@.service", "ExecStart") == "/opt/kura/bin/kura notify-failure %i"


def test_the_long_running_services_are_watched_and_restarted() -> None:
    api, monitor = settings("kura-api.service"), settings("kura-monitor.service")
    assert api["Type"] == ["notify"] and api["Restart"] == ["on-failure"] and api["WatchdogSec"]
    assert api["StartLimitBurst"] and api["StartLimitIntervalSec"] and api["RestartSec"]
    assert api["ExecStartPre"] == ["/opt/kura/bin/kura db upgrade --no-create"]
    assert monitor["Type"] == ["notify"] and monitor["Restart"] == ["always"] and monitor["WatchdogSec"]
    for unit in (api, monitor):
        assert any("kura-notify-failure@%n.service" in v and "SERVICE_RESULT" in v for v in unit["ExecStopPost"])


def test_the_backup_runs_once_at_low_priority_within_a_bound() -> None:
    backup = settings("kura-backup.service")
    assert backup["Type"] == ["oneshot"] and backup["IOSchedulingClass"] == ["idle"]
    assert int(backup["Nice"][0]) >= 10 and backup["TimeoutStartSec"]
    timer = settings("kura-backup.timer")
    assert timer["OnCalendar"] == ["*-*-* 03:00:00"] and timer["Persistent"] == ["true"]
    assert timer["RandomizedDelaySec"] and timer["AccuracySec"]
