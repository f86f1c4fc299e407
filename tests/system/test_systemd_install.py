"""install.sh on a real systemd 252 in a throw-away sandbox: units, watchdog, timer, failure mail.

The tests share one booted sandbox and run in file order, like an administrator's session: install,
use, break things, re-install, uninstall. See tests/system/sandbox.py for how the sandbox is made.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from packaging.utils import canonicalize_name

from tests.deploy.test_lock import read_lock
from tests.system.sandbox import Sandbox, unavailable_reason

pytestmark = [pytest.mark.system, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
MAILDIR = "/var/tmp/kura-test-mail"
SMTP_PORT = 8025
API = "http://127.0.0.1:8000"
WATCHDOG_S, RESTART_S, MARGIN_S = 20, 2, 20
ADMIN_MAIL = "ops@example.test"
MAIL_SETTINGS = (f"KURA_SMTP_HOST=127.0.0.1\nKURA_SMTP_PORT={SMTP_PORT}\nKURA_SMTP_SECURITY=none\n"
                 f"KURA_MAIL_TO={ADMIN_MAIL}\nKURA_MAIL_FROM=kura@example.test\n")

# Python and every compiled extension Kura ships, each made to do real work, under the API's
# hardening; the last step proves MemoryDenyWriteExecute= is really in force.
EXTENSIONS_CHECK = r"""
import asyncio, ctypes, importlib, mmap, pathlib, sqlite3, sys, sysconfig
import httptools, orjson, psutil, pydantic_core, uvloop, zstandard
from pydantic_core import SchemaValidator, core_schema
assert orjson.loads(orjson.dumps({"a": [1, 2]})) == {"a": [1, 2]}
assert SchemaValidator(core_schema.int_schema()).validate_python("5") == 5
loop = uvloop.new_event_loop(); assert loop.run_until_complete(asyncio.sleep(0, "ok")) == "ok"; loop.close()
seen = []
class Proto:
    def on_url(self, url): seen.append(url)
httptools.HttpRequestParser(Proto()).feed_data(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
assert seen == [b"/readyz"]
data = b"kura" * 10000
assert zstandard.ZstdDecompressor().decompress(zstandard.ZstdCompressor(level=3).compress(data)) == data
assert psutil.Process().memory_info().rss > 0
db = sqlite3.connect(":memory:"); db.execute("create virtual table t using fts5(x)")
db.execute("insert into t values ('bookmark service')")
assert db.execute("select count(*) from t where t match 'bookmark'").fetchone() == (1,)
site = pathlib.Path(sysconfig.get_paths()["purelib"])
failed = []
for so in sorted(site.rglob("*.so")):
    rel = so.relative_to(site).with_suffix("")
    name = ".".join(rel.parts[:-1] + (rel.name.split(".")[0],))
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        pass  # an optional backend whose package is not installed (zstandard._cffi needs cffi)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
assert not failed, failed
libc = ctypes.CDLL(None); libc.mmap.restype = ctypes.c_void_p
addr = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
assert addr in (None, ctypes.c_void_p(-1).value), "W+X memory was allowed"
print("extensions ok", len(list(site.rglob("*.so"))))
"""


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    # Not pytest's tmp_path: other pytest runs on the machine rotate those away mid-test.
    path = Path(tempfile.mkdtemp(prefix="kura-system-test-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def wheelhouse(scratch: Path) -> Path:
    """Kura and the locked dependencies: the sandbox has no network (install.sh --wheels). Built as
    README.md's "Deployment" says: the lock's own files, hash-checked, then Kura's wheel."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"cannot boot a sandboxed systemd here: {reason}")
    if os.environ.get("KURA_SYSTEM_TEST_WHEELS"):  # a prebuilt one, to iterate faster
        return Path(os.environ["KURA_SYSTEM_TEST_WHEELS"])
    source, wheels = scratch / "source", scratch / "wheels"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".pytest_cache", "bench"))

    def pip(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
                       check=True, capture_output=True, timeout=900)

    pip("download", "--require-hashes", "-r", str(source / "requirements.lock"), "-d", str(wheels))
    pip("download", "setuptools", "wheel", "-d", str(wheels))  # install.sh builds sdnotify: it ships only as source
    pip("wheel", "--no-deps", str(source), "-w", str(wheels))
    return wheels


@pytest.fixture(scope="module")
def box(wheelhouse: Path, scratch: Path) -> Iterator[Sandbox]:
    sandbox = Sandbox(scratch / "sandbox", binds=[REPO, wheelhouse])
    try:
        sandbox.boot()
        sandbox.run(["systemd-run", "--unit=mail-sink-for-test", sys.executable, "-m", "aiosmtpd", "-n",
                     "-l", f"127.0.0.1:{SMTP_PORT}", "-c", "aiosmtpd.handlers.Mailbox", MAILDIR])
        yield sandbox
    finally:
        sandbox.stop()


def install(box: Sandbox, wheelhouse: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return box.run([str(REPO / "install.sh"), "--wheels", str(wheelhouse), *args], timeout=600)


def mails(box: Sandbox) -> list[email.message.Message]:
    """Mail to the admin, oldest first (the monitor's alerts go to another address, see below)."""
    out = box.sh(f"for f in $(ls -tr {MAILDIR}/new/ 2>/dev/null); do cat {MAILDIR}/new/$f; echo '\x1e'; done").stdout
    found = [email.message_from_string(part) for part in out.split("\x1e\n") if part.strip()]
    return [m for m in found if m["To"] == ADMIN_MAIL]


def wait_mails(box: Sandbox, count: int, timeout: float = 30) -> list[email.message.Message]:
    box.wait_for(f"{count} mail(s)", lambda: len(mails(box)) >= count, timeout)
    time.sleep(3)  # a duplicate would arrive within moments; give it the chance to
    return mails(box)


def as_kura(box: Sandbox, program: str, *args: str) -> str:
    """The installed admin wrappers: the program as the kura user with the services' settings."""
    return box.run([f"/usr/local/sbin/{program}", *args]).stdout


def program_lines(box: Sandbox, unit: str, program: str, *args: str) -> list[dict[str, str]]:
    lines = journal(box, "-u", unit, f"_COMM={program}", *args)
    broken = [line["MESSAGE"] for line in lines if "Logging error" in str(line["MESSAGE"])]
    assert not broken, f"{program} cannot log: {broken[:1]}"
    return lines


def journal(box: Sandbox, *args: str) -> list[dict[str, str]]:
    out = box.run(["journalctl", "--no-pager", "-o", "json", *args]).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_install_brings_every_unit_up_hardened_and_answering(box: Sandbox, wheelhouse: Path) -> None:
    done = install(box, wheelhouse, "--backup-time", "04:30")
    assert "Kura is running" in done.stdout
    for unit in ("kura-api.service", "kura-monitor.service", "kura-backup.timer"):
        assert box.run(["systemctl", "is-active", unit]).stdout.strip() == "active", unit
    assert box.run(["curl", "-fsS", f"{API}/readyz"]).returncode == 0
    timer = box.show("kura-backup.timer", "TimersCalendar")["TimersCalendar"]
    assert "04:30:00" in timer
    env = box.run(["cat", "/etc/kura/kura.env"]).stdout
    assert env == (REPO / "deploy/kura.env.example").read_text()
    assert box.run(["stat", "-c", "%a %U", "/var/lib/kura"]).stdout.split() == ["700", "kura"]
    score = box.run(["systemd-analyze", "security", "--threshold=20", "kura-api.service",
                     "kura-monitor.service", "kura-backup.service"], check=False)
    assert score.returncode == 0, score.stdout[-2000:]
    # From here on, failures are mailed to the sandbox's SMTP server; the monitor's own alerts
    # (an API down during the watchdog test, say) go elsewhere so the counts below stay exact.
    box.sh(f"printf '{MAIL_SETTINGS}' >> /etc/kura/kura.env && mkdir -p /etc/systemd/system/kura-monitor.service.d"
           " && printf '[Service]\\nEnvironmentFile=/etc/kura/monitor-test.env\\n'"
           " > /etc/systemd/system/kura-monitor.service.d/mail.conf"
           " && echo KURA_MAIL_TO=monitor@example.test > /etc/kura/monitor-test.env && systemctl daemon-reload")
    box.run(["systemctl", "restart", "kura-api", "kura-monitor"])


def test_the_installed_code_runs_exactly_the_locked_versions(box: Sandbox) -> None:
    frozen = box.run(["/opt/kura/bin/python", "-m", "pip", "--disable-pip-version-check", "freeze"]).stdout
    installed = dict(line.split("==") for line in frozen.splitlines() if "==" in line)
    assert [line for line in frozen.splitlines() if "==" not in line] == [
        line for line in frozen.splitlines() if line.startswith("kura @ ")]  # Kura itself, from its wheel
    locked = {pin.name: pin.version for pin in read_lock(REPO / "requirements.lock") if pin.applies()}
    assert {canonicalize_name(name): version for name, version in installed.items()} == locked
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert box.run(["/opt/kura/bin/kura", "--version"]).stdout.startswith(
        f"kura {version} (FastAPI {locked['fastapi']}, SQLAlchemy {locked['sqlalchemy']}, uvicorn {locked['uvicorn']}, ")


def test_the_api_is_active_only_once_it_reported_ready(box: Sandbox) -> None:
    props = box.show("kura-api.service", "Type", "NotifyAccess", "WatchdogUSec")
    assert props == {"Type": "notify", "NotifyAccess": "main", "WatchdogUSec": f"{WATCHDOG_S}s"}
    # `systemctl restart` returns when the unit is active; for Type=notify that means READY=1 was
    # received, so the very first request must be served (a Type=simple unit would refuse it).
    box.run(["systemctl", "restart", "kura-api"])
    assert box.run(["curl", "-fsS", "--max-time", "5", f"{API}/readyz"], check=False).returncode == 0
    assert box.show("kura-api.service", "StatusText")["StatusText"]


def test_python_and_every_extension_work_under_the_api_hardening(box: Sandbox) -> None:
    done = hardened_python(box, EXTENSIONS_CHECK)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("extensions ok")


# A large import's parse runs in a child process (domain/transfer/childparse.py): it must start,
# read the descriptor it is handed and send its batches back under the API's hardening too.
CHILD_PARSE_CHECK = r"""
import tempfile
from domain.transfer import ImportOptions, childparse
links = "".join(f'<DT><A HREF="https://example.com/{i}">page {i}</A>\n' for i in range(20_000))
with tempfile.TemporaryFile() as upload:
    upload.write(f"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n{links}</DL>\n".encode())
    assert childparse.worth_a_child(upload)
    parsed = childparse.ChildParse(upload, options=ImportOptions())
    try:
        count = sum(len(batch) for batch in parsed.batches())
    finally:
        parsed.close()
assert (count, parsed.process.returncode) == (20_000, 0), (count, parsed.process.returncode)
print("child parse ok", count)
"""


def hardened_python(box: Sandbox, code: str) -> subprocess.CompletedProcess[str]:
    """/opt/kura/bin/python -c CODE as the kura user, under every hardening line of kura-api's unit."""
    unit = box.run(["cat", "/etc/systemd/system/kura-api.service"]).stdout
    hardening = unit.split("# --- hardening", 1)[1].split("[Install]", 1)[0]
    props = [line for line in hardening.splitlines()[1:] if line and not line.startswith("#")]
    assert "MemoryDenyWriteExecute=yes" in props
    argv = ["systemd-run", "--quiet", "--pipe", "--wait", "--collect", "-p", "User=kura"]
    for prop in props:
        argv += ["-p", prop]
    return box.run([*argv, "/opt/kura/bin/python", "-c", code], check=False)


def test_a_large_import_parses_in_a_child_process_under_the_api_hardening(box: Sandbox) -> None:
    done = hardened_python(box, CHILD_PARSE_CHECK)
    assert (done.returncode, done.stdout) == (0, "child parse ok 20000\n"), done.stdout + done.stderr


def test_a_hung_api_is_killed_by_the_watchdog_restarted_and_mailed_once(box: Sandbox) -> None:
    before = box.show("kura-api.service", "MainPID", "NRestarts")
    # `kill -STOP 0` would stop every process in the group, this pytest run included, for good.
    assert before["MainPID"] not in ("", "0"), "kura-api is not running, so there is nothing to hang"
    stopped_at = time.monotonic()
    box.run(["kill", "-STOP", before["MainPID"]])
    box.wait_for("a restarted API", lambda: box.show("kura-api.service", "NRestarts", "ActiveState") == {
        "NRestarts": str(int(before["NRestarts"]) + 1), "ActiveState": "active"},
        WATCHDOG_S + RESTART_S + MARGIN_S)
    assert time.monotonic() - stopped_at >= WATCHDOG_S - 1
    assert box.run(["curl", "-fsS", f"{API}/readyz"]).returncode == 0
    got = wait_mails(box, 1)
    assert len(got) == 1, [m["Subject"] for m in got]
    mail = got[0]
    assert "kura-api.service failed" in mail["Subject"] and "watchdog" in mail["Subject"]
    assert "with result 'watchdog'" in mail.get_payload()


def test_a_started_backup_is_verified_and_logged_at_info(box: Sandbox) -> None:
    box.run(["systemctl", "start", "kura-backup.service"], timeout=300)
    listed = json.loads(as_kura(box, "kura-backup", "list", "--json"))
    assert len(listed) == 1 and listed[0]["verified"] is True
    as_kura(box, "kura-backup", "verify", "--all")
    lines = program_lines(box, "kura-backup.service", "kura-backup", "-p", "info..info")
    assert any(str(line["MESSAGE"]).startswith("kura-backup") for line in lines), lines[-3:]


def test_the_backup_unit_lets_the_job_see_how_busy_the_host_is(box: Sandbox) -> None:
    # Under the unit's own hardening: the job narrows its work from /proc/stat (ProcSubset=pid hid it).
    probe = "import sys; from backup.priority import host_cpu_seconds; sys.exit(host_cpu_seconds() is None)"
    box.run(["sh", "-c", "mkdir -p /etc/systemd/system/kura-backup.service.d && cat > "
             "/etc/systemd/system/kura-backup.service.d/probe.conf && systemctl daemon-reload"],
            input=f"[Service]\nExecStart=\nExecStart=/opt/kura/bin/python -c '{probe}'\n")
    try:
        started = box.run(["systemctl", "start", "kura-backup.service"], check=False)
        assert started.returncode == 0 and box.show("kura-backup.service", "Result")["Result"] == "success"
    finally:
        _mend_backup(box)


def backup_files(box: Sandbox) -> set[str]:
    return {entry["file"] for entry in json.loads(as_kura(box, "kura-backup", "list", "--json"))}


def test_the_timer_fires_the_backup(box: Sandbox) -> None:
    before, files = box.show("kura-backup.service", "InvocationID")["InvocationID"], backup_files(box)

    def ran() -> bool:
        state = box.show("kura-backup.service", "InvocationID", "ActiveState")
        return state["InvocationID"] != before and state["ActiveState"] == "inactive"

    box.sh("mkdir -p /etc/systemd/system/kura-backup.timer.d && printf '[Timer]\\nOnCalendar=\\n"
           "OnCalendar=*:*:0/10\\nRandomizedDelaySec=0\\nAccuracySec=1s\\n' "
           "> /etc/systemd/system/kura-backup.timer.d/soon.conf && systemctl daemon-reload "
           "&& systemctl restart kura-backup.timer")
    try:
        box.wait_for("a backup run by the timer", ran, 60)
    finally:
        box.sh("rm -r /etc/systemd/system/kura-backup.timer.d && systemctl daemon-reload "
               "&& systemctl restart kura-backup.timer")
    assert box.show("kura-backup.service", "Result")["Result"] == "success"
    # Retention keeps the newest backup of the day, so the timer's run replaced the first one.
    assert backup_files(box) - files
    as_kura(box, "kura-backup", "verify", "--all")


def _break_backup(box: Sandbox, conf: str) -> None:
    box.sh(f"mkdir -p /etc/systemd/system/kura-backup.service.d && printf '{conf}' "
           "> /etc/systemd/system/kura-backup.service.d/broken.conf && systemctl daemon-reload")


def _mend_backup(box: Sandbox) -> None:
    box.sh("rm -r /etc/systemd/system/kura-backup.service.d && systemctl daemon-reload "
           "&& systemctl reset-failed kura-backup.service")


def test_a_failing_backup_logs_errors_fails_the_unit_and_mails_once(box: Sandbox) -> None:
    sent = len(mails(box))
    # A backup folder the sandbox makes read-only: the job itself notices, logs and mails.
    _break_backup(box, "[Service]\\nEnvironment=KURA_BACKUP_DIR=/opt/kura/no-backups-here\\n")
    try:
        assert box.run(["systemctl", "start", "kura-backup.service"], check=False).returncode != 0
        assert box.show("kura-backup.service", "ActiveState")["ActiveState"] == "failed"
        errors = program_lines(box, "kura-backup.service", "kura-backup", "-p", "err")
        assert errors and all(int(line["PRIORITY"]) <= 3 for line in errors)
        box.wait_for("the OnFailure= unit to finish", lambda: box.show(
            "kura-notify-failure@kura-backup.service.service", "ActiveState")["ActiveState"] in ("inactive", "failed"), 30)
        got = wait_mails(box, sent + 1)
    finally:
        _mend_backup(box)
    assert len(got) == sent + 1
    assert "kura-backup" in got[-1]["Subject"]


def test_a_backup_killed_by_its_timeout_is_mailed_through_on_failure(box: Sandbox) -> None:
    sent = len(mails(box))
    # The job never gets to report this itself: systemd kills it first.
    _break_backup(box, "[Service]\\nTimeoutStartSec=2s\\nExecStartPre=/bin/sleep 30\\n")
    try:
        assert box.run(["systemctl", "start", "kura-backup.service"], check=False).returncode != 0
        assert box.show("kura-backup.service", "Result")["Result"] == "timeout"
        got = wait_mails(box, sent + 1)
    finally:
        _mend_backup(box)
    assert len(got) == sent + 1
    mail = got[-1]
    assert mail["Subject"].startswith("[kura] kura-backup.service failed") and "(timeout)" in mail["Subject"]
    assert "systemctl status kura-backup.service" in mail.get_payload()


def test_the_api_error_journal_holds_errors_only(box: Sandbox) -> None:
    every = journal(box, "-u", "kura-api.service")
    info = program_lines(box, "kura-api.service", "kura-api", "-p", "info..info")
    assert info, "the API logs nothing at info"
    errors = journal(box, "-u", "kura-api.service", "-p", "err")
    assert errors, "the watchdog kill should have left an error line"
    assert all(int(line["PRIORITY"]) <= 3 for line in errors)
    assert not {line["MESSAGE"] for line in info} & {line["MESSAGE"] for line in errors}
    assert len(errors) < len(every)


def test_reinstalling_keeps_data_and_settings(box: Sandbox, wheelhouse: Path) -> None:
    as_kura(box, "kura", "user", "add", "alice", "--admin")
    token = as_kura(box, "kura", "token", "create", "alice", "--label", "system-test").strip()
    auth = ["-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json"]
    box.run(["curl", "-fsS", *auth, "-d", '{"url": "https://example.org/kept"}', f"{API}/api/v1/bookmarks"])
    backups = as_kura(box, "kura-backup", "list", "--json")

    install(box, wheelhouse)

    env = box.run(["cat", "/etc/kura/kura.env"]).stdout
    assert env.endswith(MAIL_SETTINGS)
    assert "04:30:00" in box.show("kura-backup.timer", "TimersCalendar")["TimersCalendar"]
    listed = box.run(["curl", "-fsS", *auth, f"{API}/api/v1/bookmarks"]).stdout
    assert "https://example.org/kept" in listed
    # The API reads what the monitor writes (one user, UMask=0077 files).
    assert "kura_" in box.run(["curl", "-fsS", *auth, f"{API}/metrics"]).stdout
    assert as_kura(box, "kura-backup", "list", "--json") == backups


def test_uninstall_removes_the_service_but_keeps_data_and_settings(box: Sandbox) -> None:
    refused = box.run([str(REPO / "install.sh"), "--uninstall", "--purge"], check=False)
    assert refused.returncode == 2 and "add --yes" in refused.stderr
    box.run([str(REPO / "install.sh"), "--uninstall"])
    assert box.run(["systemctl", "list-unit-files", "kura*", "--no-legend"], check=False).stdout.strip() == ""
    assert box.run(["test", "-e", "/opt/kura"], check=False).returncode == 1
    assert box.run(["test", "-s", "/var/lib/kura/kura.db"], check=False).returncode == 0
    assert box.run(["test", "-s", "/etc/kura/kura.env"], check=False).returncode == 0
