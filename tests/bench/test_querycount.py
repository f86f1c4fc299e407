"""The bench's statement counts are the statements of the measured request alone."""

from pathlib import Path

from bench import querycount


def test_a_page_costs_two_statements_and_a_current_etag_one(tmp_path: Path) -> None:
    counts = querycount.count_at(10, tmp_path)
    assert counts["list_newest_50"] == counts["get_one"] == 2  # the token with its data version, the page or row
    assert counts["list_newest_50_304"] == 1  # the token with its data version: no bookmark read for a 304
