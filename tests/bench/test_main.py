"""The command line: section names are checked, and a partial rerun can keep an earlier run's figures."""

from __future__ import annotations

import pytest

from bench import __main__ as cli
from bench import report


def test_an_unknown_section_is_refused_with_the_valid_names() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.parse_args(["--only", "load,lunch"])
    assert exc.value.code == 2


def test_quick_shortens_cases_and_runs_once() -> None:
    args = cli.parse_args(["--quick"])
    assert (args.seconds, args.repeat, args.monitor_window) == (2.0, 1, 30.0)


def test_merge_fills_only_the_missing_sections_and_records_where_they_came_from() -> None:
    result = {"meta": {"started": "now"}, "startup": {"ready_s": 1.0}}
    earlier = {"meta": {"started": "before", "loadavg_start": [3.0, 2.0, 1.0]}, "startup": {"ready_s": 9.0},
               "backup": {"seconds": 40.0}, "targets": [{"figure": "stale"}], "failed": {"import": "x"}}
    cli.merge(result, earlier, source="a.json")
    assert result["startup"] == {"ready_s": 1.0} and result["backup"] == {"seconds": 40.0}
    assert "targets" not in result and "failed" not in result
    assert result["meta"]["merged"] == [{"from": "a.json", "sections": ["backup"], "started": "before",
                                         "loadavg_start": [3.0, 2.0, 1.0], "loadavg_end": None}]
    assert "sections backup from a.json (started before, load average at start 3.00/2.00/1.00" in report.render(result)
