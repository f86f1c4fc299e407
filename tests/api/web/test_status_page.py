"""GET /status: the admins' page over a real metrics.db written by the monitor's own store, real backup
runs, and a fresh install where neither exists yet."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from api.request_metrics import RequestMetrics
from api.web import status_view
from backup.job import run_job
from common.db import open_database
from monitor.alerts import AlertLog
from monitor.metrics import reading_from
from monitor.rules import AlertEvent, AlertState
from monitor.store import MetricsStore
from tests.support import count_manifest_reads

SVG = "{http://www.w3.org/2000/svg}"
CHARTS_PER_RANGE = 7  # CPU, memory, disk free on "/", API requests/s and latency, API process CPU and memory


@pytest.fixture
def metrics(settings):  # type: ignore[no-untyped-def]
    db = open_database(settings, path=settings.metrics_db_path, create=True)
    yield MetricsStore(db)
    db.dispose()


def fill_history(store: MetricsStore, *, now: datetime) -> None:
    """Three hours of one-minute samples ending now, with the monitor down for the middle hour, then
    the 5-minute rollups the daemon would have made."""
    for minute in range(180, -1, -1):
        if 60 < minute < 120:
            continue
        store.insert(at=now - timedelta(minutes=minute), reading=reading_from({
            "cpu_percent": 20 + minute % 10, "memory_available_percent": 60, "api_up": minute < 150,
            ("filesystem_avail_percent", "/"): 40,
            ("process_cpu_percent", "kura-api"): 3, ("process_cpu_percent", "kura-monitor"): 1,
            ("process_resident_memory_bytes", "kura-api"): 80e6,
            "api_requests_per_second": 2.5, ("api_request_latency_ms", "p50"): 4,
            ("api_request_latency_ms", "p99"): 120,
        }))
    store.rollup(now=now + timedelta(minutes=5))


def record_alerts(store: MetricsStore, settings, *, now: datetime) -> None:  # type: ignore[no-untyped-def]
    log = AlertLog(store.db, settings)
    fired = AlertState(rule="disk_low", severity="warning", count=2, fired_at=now, last_sent_at=now,
                       message="/srv has 4.0% free (limit 10%)")
    log.record([AlertEvent("alert", "disk_low", "disk_low:/srv", "warning", fired.message, 4.0, now)],
               {"disk_low:/srv": fired})
    log.record([AlertEvent("recovery", "api_down", "api_down", "critical", "/readyz answers <again>", 1.0,
                           now - timedelta(hours=1))], {})


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(found) for found in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:dd|p|table)>', html, flags=re.S)
    assert match, f"no element #{element_id}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def test_an_admin_sees_the_api_the_monitor_the_backups_and_the_charts(web, admin, metrics, settings, db) -> None:
    now = datetime.now(UTC)
    fill_history(metrics, now=now)
    record_alerts(metrics, settings, now=now)
    backup = run_job(settings).entry
    response = web(admin).get("/status")
    assert response.status_code == 200
    html = response.text
    assert text_of(html, "api-ready").startswith("ready")
    assert re.fullmatch(r"\d+ \([\d.]+ req/s on average\); half answered in ≤ [\d.]+ ms, 99 % in .+",
                        text_of(html, "api-requests"))  # the sign-in's own requests, at least
    checks = text_of(html, "api-checks")  # /readyz failed in the oldest half hour
    assert checks.endswith("of /readyz checks over the last 24h") and 50 < float(checks.split()[0]) < 100
    assert text_of(html, "monitor-state").startswith("sampling")
    assert "disk_low:/srv" in text_of(html, "active-alerts")
    history = text_of(html, "alert-history")
    assert "recovery api_down" in history and "/readyz answers <again>" in history  # escaped, then shown
    assert "<again>" not in html
    assert backup.data_path.name in text_of(html, "backup-newest") and "verified" in text_of(html, "backup-newest")
    assert text_of(html, "backup-fresh").startswith("yes")
    assert text_of(html, "backup-next")  # "unknown" without systemd, a date with it
    runs = text_of(html, "backup-runs")
    assert "ok" in runs and backup.data_path.name in runs and "yes" in runs
    charts = svgs(html)
    assert len(charts) == CHARTS_PER_RANGE
    assert all(c.get("role") == "img" and c.find(f"{SVG}title").text and c.find(f"{SVG}desc").text for c in charts)
    [cpu] = [c for c in charts if c.get("id") == "chart-cpu-24h"]
    assert len(list(cpu.iter(f"{SVG}polyline"))) == 2  # the hour without samples is a gap, not a line
    assert "no data yet" not in html


def test_the_week_range_draws_the_same_charts_from_the_rollups(web, admin, metrics) -> None:
    fill_history(metrics, now=datetime.now(UTC))
    html = web(admin).get("/status", params={"range": "7d"}).text
    charts = svgs(html)
    assert len(charts) == CHARTS_PER_RANGE and all(c.get("id").endswith("-7d") for c in charts)
    assert re.search(r'href="/status\?range=7d"\s+aria-current="page"', html)
    assert not re.search(r'href="/status\?range=24h"\s+aria-current', html)


def test_each_chart_has_a_text_table_with_units(web, admin, metrics) -> None:
    fill_history(metrics, now=datetime.now(UTC))
    html = web(admin).get("/status").text
    assert html.count("<caption>") == CHARTS_PER_RANGE
    assert "40.0%" in html  # disk free, every sample
    assert "80.0 MB" in html  # the API's resident memory
    assert "2.5 req/s" in html and "4.0 ms" in html and "120 ms" in html  # the API's rate, p50 and p99


def test_a_fresh_install_shows_no_data_yet_everywhere_and_creates_nothing(web, admin, settings) -> None:
    response = web(admin).get("/status")
    assert response.status_code == 200
    html = response.text
    assert svgs(html) == []
    assert html.count("no data yet") >= CHARTS_PER_RANGE
    assert text_of(html, "monitor-state").startswith("No data yet")
    assert text_of(html, "active-alerts") == "None."
    assert text_of(html, "backup-newest") == "none yet"
    assert text_of(html, "backup-fresh").startswith("NO")
    assert text_of(html, "backup-runs") == "No backup run recorded yet."
    assert not settings.metrics_db_path.exists()


def test_a_non_admin_gets_not_found(web, alice) -> None:
    assert web(alice).get("/status").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client) -> None:
    response = client.get("/status?range=7d", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert "status" in unescape(response.headers["location"])


def test_an_unknown_range_is_refused_with_a_message(web, admin) -> None:
    response = web(admin).get("/status", params={"range": "1y"})
    assert response.status_code == 422
    assert "24h" in response.text


def test_request_figures_come_from_the_api_histogram() -> None:
    recorder = RequestMetrics()
    assert status_view.request_totals(recorder, uptime_s=10).total == 0
    for seconds in [0.004] * 98 + [0.15, 30.0]:
        recorder.observe(method="GET", route="/x", status=200, seconds=seconds)
    totals = status_view.request_totals(recorder, uptime_s=50)
    assert (totals.total, totals.per_second, totals.p50, totals.p99) == (100, 2.0, "≤ 5 ms", "≤ 200 ms")
    recorder.observe(method="POST", route="/y", status=500, seconds=99.0)
    recorder.observe(method="POST", route="/y", status=500, seconds=99.0)
    assert status_view.request_totals(recorder, uptime_s=50).p99 == "over 10 s"
    assert status_view.request_totals(None, uptime_s=1) is None


def test_the_view_reads_a_bounded_number_of_points_per_chart(app, metrics, settings) -> None:
    now = datetime.now(UTC)
    for minute in range(0, 7 * 24 * 60, 10):  # a week of samples, every 10 minutes
        metrics.insert(at=now - timedelta(minutes=minute), reading=reading_from({"cpu_percent": minute % 100}))
    metrics.rollup(now=now + timedelta(minutes=5))
    reader = app.state.metrics_reader
    try:
        for range_name in status_view.RANGES:
            view = asyncio.run(status_view.gather(tx=app.state.tx, metrics=reader, settings=settings, recorder=None,
                                                  range_name=range_name, now=now))
            [cpu] = [c for c in view.charts if c.chart_id == f"chart-cpu-{range_name}"]
            assert 0 < len(cpu.chart.lines[0].points) <= 300
    finally:
        reader.close()  # no lifespan ran to close it


def test_without_systemd_the_next_backup_is_unknown() -> None:
    assert status_view.next_timer_run("no-such-kura-unit.timer") == "unknown"


def test_ages_and_sizes_read_like_a_person_says_them() -> None:
    assert [status_view.age(s) for s in (5, 600, 7200, 3 * 86400)] == ["5 s", "10 min", "2.0 h", "3.0 days"]
    assert [status_view.size(n) for n in (None, 512, 1500, 2_500_000, 3 * 10**9)] == [
        "-", "512 bytes", "1.5 kB", "2.5 MB", "3.0 GB"]


def test_the_api_latency_is_one_chart_with_p50_and_p99_told_apart_by_dashes(web, admin, metrics) -> None:
    fill_history(metrics, now=datetime.now(UTC))
    html = web(admin).get("/status").text
    [latency] = [c for c in svgs(html) if c.get("id") == "chart-api-latency-24h"]
    lines = latency.findall(f"{SVG}g")
    assert [g.find(f"{SVG}title").text for g in lines] == ["p50", "p99"]
    dashes = [{p.get("stroke-dasharray") for p in g.iter(f"{SVG}polyline")} for g in lines]
    assert dashes[0] == {None} and len(dashes[1]) == 1 and None not in dashes[1]  # solid, then dashed
    rows = text_of(html, "chart-api-latency-24h-table")
    assert "p50 solid 4.0 ms" in rows and "p99 dashed 120 ms" in rows
    [rate] = [c for c in svgs(html) if c.get("id") == "chart-api-rate-24h"]
    assert len(list(rate.iter(f"{SVG}polyline"))) == 2  # the hour without samples is a gap here too


def test_a_metrics_db_without_api_figures_says_no_data_yet_for_the_api_charts(web, admin, metrics) -> None:
    now = datetime.now(UTC)
    metrics.insert(at=now - timedelta(minutes=30), reading=reading_from({"cpu_percent": 12}))
    metrics.rollup(now=now)
    html = web(admin).get("/status").text
    assert "API requests per second: no data yet" in html
    assert "API latency (p50 and p99): no data yet" in html
    assert {c.get("id") for c in svgs(html)} == {"chart-cpu-24h"}


def test_the_backup_part_reads_each_manifest_once(settings, db, monkeypatch) -> None:
    entries = [run_job(settings, keep=True).entry for _ in range(2)]  # kept: retention leaves both
    read = count_manifest_reads(monkeypatch)
    view = status_view.StatusView(now=datetime.now(UTC), range_name="24h")
    status_view.read_backups(view, settings=settings)
    assert view.backup_fresh and view.newest_verified is not None
    assert view.newest_verified.path == entries[-1].data_path
    assert sorted(read) == sorted(e.manifest_path.name for e in entries)  # not once for each question
