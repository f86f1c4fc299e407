"""The SVG chart module: what a browser and a screen reader get from a series."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from api.web.charts import MAX_POINTS, Chart, Line, downsample, fmt, nice_ceiling, segments, summaries, svg, tick

SVG = "{http://www.w3.org/2000/svg}"
DAY = 86400.0
SINCE = 1_780_000_000.0  # a fixed moment: the output must not depend on the clock


def chart(*lines: Line, **kw) -> Chart:  # type: ignore[no-untyped-def]
    return Chart(title=kw.pop("title", "CPU"), unit=kw.pop("unit", "%"), since=SINCE, until=SINCE + DAY,
                 lines=lines, **kw)


def minutely(values, start=SINCE, every=300.0):  # type: ignore[no-untyped-def]
    return [(start + i * every, float(v)) for i, v in enumerate(values)]


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def polyline_points(root: ET.Element) -> list[list[tuple[float, float]]]:
    return [[tuple(map(float, pair.split(","))) for pair in p.get("points", "").split()]
            for p in root.iter(f"{SVG}polyline")]


def test_a_known_series_is_one_polyline_with_a_point_per_sample() -> None:
    root = parse(svg(chart(Line("CPU", minutely([10, 20, 30, 40, 50])), gap_s=450), chart_id="cpu"))
    [points] = polyline_points(root)
    assert len(points) == 5
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    assert xs == sorted(xs) and len(set(xs)) == 5
    assert ys == sorted(ys, reverse=True)  # higher values are drawn higher up (smaller y)


def test_a_gap_in_the_data_splits_the_line_instead_of_joining_across_it() -> None:
    points = minutely([1, 2, 3]) + minutely([4, 5], start=SINCE + 3 * 3600)
    root = parse(svg(chart(Line("CPU", points), gap_s=450), chart_id="cpu"))
    assert [len(run) for run in polyline_points(root)] == [3, 2]


def test_a_lone_point_between_gaps_is_drawn_as_a_dot() -> None:
    points = minutely([1, 2]) + [(SINCE + 3600, 7.0)] + minutely([3, 4], start=SINCE + 7200)
    root = parse(svg(chart(Line("CPU", points), gap_s=450), chart_id="cpu"))
    assert [len(run) for run in polyline_points(root)] == [2, 2]
    assert len(list(root.iter(f"{SVG}circle"))) == 1


def test_segments_join_only_points_within_the_gap() -> None:
    assert [len(r) for r in segments(minutely([1, 2, 3, 4]), gap_s=299)] == [1, 1, 1, 1]
    assert [len(r) for r in segments(minutely([1, 2, 3, 4]), gap_s=300)] == [4]
    assert segments([], gap_s=1) == []


def test_an_empty_history_says_no_data_yet_instead_of_drawing_an_empty_box() -> None:
    for empty in (chart(), chart(Line("CPU", []))):
        out = svg(empty, chart_id="cpu")
        assert "<svg" not in out
        assert "no data yet" in out and "CPU" in out


def test_the_chart_is_an_image_with_a_title_a_description_and_axes_with_units() -> None:
    root = parse(svg(chart(Line("host", minutely([12, 50, 75])), title="CPU use", y_max=100), chart_id="cpu-24h"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "cpu-24h-title cpu-24h-desc"
    assert root.find(f"{SVG}title").text == "CPU use"
    desc = root.find(f"{SVG}desc").text
    assert "min 12.0%" in desc and "max 75.0%" in desc and "latest 75.0%" in desc
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"0%", "50%", "100%"} <= set(labels)  # y axis with units
    assert "time (UTC)" in labels and "06:00" in labels  # x axis: every 6 hours over a day


def test_a_week_is_labelled_by_day() -> None:
    week = Chart("Memory", "%", since=SINCE, until=SINCE + 7 * DAY, lines=[Line("used", minutely([1, 2]))])
    labels = [t.text for t in parse(svg(week, chart_id="m")).iter(f"{SVG}text")]
    assert sum(bool(re.fullmatch(r"\d\d-\d\d", label or "")) for label in labels) == 7


def test_without_a_fixed_top_the_axis_ends_at_a_round_number_above_the_data() -> None:
    labels = [t.text for t in parse(svg(chart(Line("rss", minutely([30, 170])), unit="MB"),
                                        chart_id="rss")).iter(f"{SVG}text")]
    assert "200 MB" in labels and "100 MB" in labels
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 1.1, 2.2, 4, 7, 99, 101)] == [1, 0.5, 1, 2, 2.5, 5, 10, 100, 200]


def test_labels_and_titles_are_escaped() -> None:
    out = svg(chart(Line('<script>alert("x")</script>', minutely([1, 2])), title="A & B <b>"),
              chart_id='x" onload="evil')
    assert "<script>" not in out and "<b>" not in out and 'onload="evil"' not in out
    root = parse(out)  # still well-formed XML
    assert root.find(f"{SVG}title").text == "A & B <b>"
    assert svg(chart(title="<i>"), chart_id="e").count("<i>") == 0


def test_the_same_input_gives_the_same_bytes() -> None:
    make = lambda: svg(chart(Line("a", minutely([3, 1, 4, 1, 5])), Line("b", minutely([9, 2, 6]))),  # noqa: E731
                       chart_id="same")
    assert make() == make()


def test_lines_differ_by_dash_pattern_not_colour_alone_and_the_table_names_the_style() -> None:
    c = chart(Line("p50", minutely([1, 2])), Line("p99", minutely([5, 9])), gap_s=450)
    root = parse(svg(c, chart_id="lat"))
    dashes = [p.get("stroke-dasharray") for p in root.iter(f"{SVG}polyline")]
    assert dashes[0] is None and dashes[1]
    assert all(p.get("stroke") == "currentColor" for p in root.iter(f"{SVG}polyline"))
    assert [(s.label, s.style, s.min, s.max, s.latest) for s in summaries(c)] == [
        ("p50", "solid", 1.0, 2.0, 2.0), ("p99", "dashed", 5.0, 9.0, 9.0)]


def test_summaries_use_the_min_and_max_columns_when_given() -> None:
    c = chart(Line("cpu", [(SINCE, 10.0, 2.0, 30.0), (SINCE + 300, 20.0, 15.0, 95.0)]))
    [row] = summaries(c)
    assert (row.min, row.avg, row.max, row.latest, row.points) == (2.0, 15.0, 95.0, 20.0, 2)
    assert summaries(chart(Line("empty", []))) == []


def test_long_series_are_downsampled_to_a_bounded_number_of_points() -> None:
    many = minutely(range(2000), every=30.0)
    reduced = downsample(many)
    assert len(reduced) <= MAX_POINTS
    assert min(p[2] for p in reduced) == 0 and max(p[3] for p in reduced) == 1999
    [points] = polyline_points(parse(svg(chart(Line("cpu", many), gap_s=3600), chart_id="c")))
    assert len(points) == len(reduced)


def test_values_carry_their_units() -> None:
    assert [fmt(0, "%"), fmt(5.25, "%"), fmt(0.123, "req/s"), fmt(512, "MB"), fmt(3, "")] == [
        "0%", "5.2%", "0.12 req/s", "512 MB", "3.0"]
    assert [tick(0, "%"), tick(50.0, "%"), tick(2.5, "MB"), tick(200.0, "req/s")] == [
        "0%", "50%", "2.5 MB", "200 req/s"]
