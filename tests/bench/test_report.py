"""Medians, targets and the compare maths behind the benchmark report."""

from __future__ import annotations

import pytest

from bench import report


def run(rps: float, p99: float, errors: int = 0) -> dict:
    return {"rps": rps, "p50_ms": p99 / 4, "p95_ms": p99 / 2, "p99_ms": p99, "max_ms": p99 * 2,
            "errors": errors, "ratio": rps / 1000}


def test_aggregate_takes_medians_and_sums_errors() -> None:
    merged = report.aggregate([run(100, 30), run(300, 10, errors=2), run(200, 20, errors=1)])
    assert merged["rps"] == 200 and merged["p99_ms"] == 20 and merged["ratio"] == 0.2
    assert merged["errors"] == 3 and merged["runs"] == 3


def test_aggregate_refuses_nothing_to_aggregate() -> None:
    with pytest.raises(ValueError):
        report.aggregate([])


def test_change_is_relative_to_the_old_value_and_undefined_from_zero() -> None:
    assert report.change(200, 150) == -25
    assert report.change(-4, -2) == 50
    assert report.change(0, 5) is None


def test_compare_knows_that_more_throughput_and_less_latency_are_better() -> None:
    old = {"load": [{"case": "get_one", "connections": 32, **run(1000, 20)}], "startup": {"ready_s": 1.0}}
    new = {"load": [{"case": "get_one", "connections": 32, **run(1500, 30)}], "startup": {"ready_s": 0.5}}
    rows = {row["figure"]: row for row in report.compare(old, new)}
    assert rows["load.get_one@32.rps"]["change_pct"] == 50 and rows["load.get_one@32.rps"]["better"] is True
    assert rows["load.get_one@32.p99_ms"]["better"] is False
    assert rows["startup.ready_s"]["change_pct"] == -50 and rows["startup.ready_s"]["better"] is True
    assert rows["load.get_one@32.errors"]["better"] is None  # 0 -> 0: no change to judge
    assert "better" in report.compare_table(list(rows.values()))


def test_compare_skips_figures_only_one_side_has() -> None:
    rows = report.compare({"import": {"cli": {"seconds": 3}}}, {"monitor": {"rss_mb": 30}})
    assert rows == []


def test_targets_flag_each_missed_limit_and_pass_the_rest() -> None:
    result = {
        "load": [{"case": "list_newest_50", "connections": 32, **run(400, 90), "ratio": 0.29},
                 {"case": "list_newest_50", "connections": 4, **run(400, 20), "cpu_ms_per_req": 0.8},
                 {"case": "create", "connections": 4, **run(300, 60, errors=1), "cpu_ms_per_req": 1.5}],
        "api_rss_mb": {"after": 120}, "startup": {"ready_s": 1.6},
        "backup": {"seconds": 19, "write_p99_ratio": 1.4}, "monitor": {"cpu_percent": 0.2, "rss_mb": 51},
    }
    verdicts = {check["figure"]: check["ok"] for check in report.check_targets(result)}
    assert verdicts == {
        "list_newest_50 CPU ms/req @4": False, "list_newest_50 / ceiling @32": False,
        "p99 list_newest_50 @4 (ms)": True, "p99 list_newest_50 @32 (ms)": True,
        "create CPU ms/req @4": True, "p99 create @4 (ms)": False,
        "errors under load": False, "API RSS after load (MB)": True,
        "backup of 1 GB (s)": True, "write p99 during backup / without": True,
        "monitor CPU (% of one core)": True, "monitor RSS (MB)": False, "API start to READY (s)": False,
    }


def test_render_shows_the_tables_and_any_failed_section() -> None:
    result = {"meta": {"started": "2026-11-23T18:30:00Z", "loadavg_start": [0.5, 0.4, 0.3]},
              "load": [{"case": "get_one", "connections": 4, **run(1234.5, 3.25)}],
              "queries": {"get_one": {"10": 3, "1000": 3}}, "failed": {"backup": "RuntimeError: disk full\nmore"}}
    result["targets"] = report.check_targets(result)
    text = report.render(result)
    assert "get_one" in text and "1,234" in text and "3.25" in text
    assert "queries @1000" in text and "FAILED backup: RuntimeError: disk full" in text
    assert "more" not in text.splitlines()[-1]


def test_markdown_has_a_row_per_endpoint_and_marks_missed_targets() -> None:
    result = {"load": [{"case": "get_one", "connections": 32, **run(400.0, 30.0), "cpu_ms_per_req": 1.25}]}
    result["targets"] = report.check_targets(result)
    text = report.markdown(result)
    assert "| get_one | 32 | 400.0 | 7.5 | 15.0 | 30.0 | 60.0 | 0 | 0.4 | 1.25 |" in text
    assert "| get_one / ceiling @32 | 0.4 | >= 0.5 | **missed** |" in text


def test_the_sqlite_in_use_passes_from_the_release_with_the_wal_reset_fix() -> None:
    def verdict(version: str) -> bool:
        (check,) = [c for c in report.check_targets({"meta": {"sqlite": version}}) if c["figure"].startswith("SQLite")]
        assert check["value"] == version
        return check["ok"]

    assert [verdict(v) for v in ("3.40.1", "3.51.2", "3.51.3", "3.53.4", "3.100.0")] == [False, False, True, True, True]
