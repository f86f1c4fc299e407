"""The profile summary: shares of busy samples, idle threads left out, recursion counted once."""

from __future__ import annotations

from bench.profile import shares

STACKS = """\
main (api/server.py:10);handle (api/app.py:5);query (common/db.py:7) 6
main (api/server.py:10);handle (api/app.py:5);handle (api/app.py:5);render (api/app.py:9) 2
worker (threading.py:1);Condition.wait (threading.py:2) 90
main (api/server.py:10);BaseEventLoop._run_once (asyncio/base_events.py:1);EpollSelector.select (selectors.py:3) 40
writer (threading.py:1);Writer._work (api/writer.py:66) 30
Thread.run (threading.py:1);_worker (concurrent/futures/thread.py:81) 25
"""


def test_waiting_threads_are_left_out_and_each_stack_counts_a_function_once() -> None:
    inclusive, own = shares(STACKS)
    inc = dict(inclusive)
    assert inc["handle (api/app.py)"] == 1.0  # recursive frames count once per sample
    assert inc["query (common/db.py)"] == 0.75 and inc["render (api/app.py)"] == 0.25
    assert "Condition.wait (threading.py)" not in inc
    assert "EpollSelector.select (selectors.py)" not in inc and "Writer._work (api/writer.py)" not in inc
    assert "_worker (concurrent/futures/thread.py)" not in inc
    assert dict(own) == {"query (common/db.py)": 0.75, "render (api/app.py)": 0.25}


def test_no_busy_samples_gives_empty_tables() -> None:
    assert shares("worker (threading.py:1);Condition.wait (threading.py:2) 5\n") == ([], [])
