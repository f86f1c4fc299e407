"""schemathesis against a real `kura-api` on loopback: every operation of the OpenAPI document, every
check (server errors, status codes, content types, headers and schemas of the answers, negative and
positive data, Allow on wrong methods, authentication and object-level authorization between two
users), stateful links between operations; zero failures (issue 12).

Two users and an admin: each operation is sent as alice first and moves on to the admin where alice
gets 403; alice and bob are peers, so what alice reads is replayed as bob, who must not get it.
About two minutes (`-m schemathesis` runs this test alone; `-m "not schemathesis"` leaves it out).
The figures (operations, cases, failures) are printed, and the JSON report is kept in the test's
folder; a failure's request and answer are in the test's output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.live import BIN, LiveApi, make_token
from common import accounts
from common.db import open_database
from common.settings import load_settings

MAX_TIME_S = 100  # the run's budget; start-up and the report come on top
# A 400 is this API's answer to input its schema cannot describe (a URL without a scheme, a cursor it
# did not issue, a search query that does not parse, a file that is no bookmark file): a well-formed
# request still refused. So a schema-valid request may get it; a 422 would mean the document is wrong.
CONFIG = """
[auth.wfc]
path = "{auth}"
peers = ["alice", "bob"]

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
"""


def create_account(data_dir: Path, name: str, *, admin: bool = False) -> str:
    db = open_database(load_settings(data_dir=data_dir))
    try:
        with db.write_session() as session:
            user = accounts.create_user(session, name=name, is_admin=admin)
            return accounts.create_token(session, user_id=user.id, label=name)[1]
    finally:
        db.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveApi, dict[str, str]]]:
    data = tmp_path / "data"
    tokens = {"alice": make_token(data, "alice")}
    tokens |= {"bob": create_account(data, "bob"), "admin": create_account(data, "root", admin=True)}
    # The tester sends thousands of unauthenticated and wrong-token probes from one address on purpose.
    api = LiveApi(data, tmp_path / "kura-api.log", env={"KURA_AUTH_FAIL_LIMIT": "1000000000"})
    api.start()
    yield api, tokens
    api.stop()


def auth_file(path: Path, tokens: dict[str, str]) -> Path:
    """A Web Fuzzing Commons auth document: the order is the order schemathesis tries them in."""
    users = [{"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {tokens[name]}"}]}
             for name in ("alice", "bob", "admin")]
    path.write_text(json.dumps({"schemaVersion": "1.0.0", "auth": users}))
    return path


@pytest.mark.schemathesis
@pytest.mark.slow
def test_schemathesis_finds_no_failure_in_any_operation(
    server: tuple[LiveApi, dict[str, str]], tmp_path: Path
) -> None:
    api, tokens = server
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(auth=auth_file(tmp_path / "auth.json", tokens)))
    report = tmp_path / "report.json"
    run = subprocess.run(
        [str(BIN / "st"), "--config-file", str(config), "run", f"http://127.0.0.1:{api.port}/openapi.json",
         "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--max-time", str(MAX_TIME_S),
         "--workers", "2", "--seed", "12", "--request-timeout", "30", "--suppress-health-check", "all",
         "--report", "json", "--report-json-path", str(report), "--no-color"],
        capture_output=True, text=True, timeout=MAX_TIME_S + 300, cwd=tmp_path,  # its cache goes there
    )
    summary = run.stdout[run.stdout.rfind("SUMMARY"):] if "SUMMARY" in run.stdout else run.stdout[-3000:]
    print(summary, file=sys.stderr)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    assert api.exited() is None
