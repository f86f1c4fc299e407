"""The bench's statement counts are the statements of the measured request alone."""

from pathlib import Path

from bench import querycount


def test_a_page_costs_three_statements_and_a_current_etag_two(tmp_path: Path) -> None:
    counts = querycount.count_at(10, tmp_path)
    assert counts["list_newest_50"] == counts["get_one"] == 3  # token, data version, the page or row
    assert counts["list_newest_50_304"] == 2  # token, data version: no bookmark read for a 304
