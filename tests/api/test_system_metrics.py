"""GET /api/v1/system/metrics, /api/v1/system/alerts and /metrics over a real metrics.db."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from common.db import open_database
from common.openfiles import file_identities, holds_any
from common.settings import load_settings
from monitor import query
from monitor.metrics import reading_from
from monitor.rules import AlertEvent, AlertState
from monitor.alerts import AlertLog
from monitor.store import MetricsStore

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def metrics(settings):  # type: ignore[no-untyped-def]
    db = open_database(settings, path=settings.metrics_db_path, create=True)
    yield MetricsStore(db)
    db.dispose()


def fill(metrics, *, minutes, every_s=60):  # type: ignore[no-untyped-def]
    """Samples from NOW - minutes to NOW: cpu = minute index, two file systems, one process."""
    steps = minutes * 60 // every_s
    for i in range(steps + 1):
        at = NOW - timedelta(seconds=(steps - i) * every_s)
        metrics.insert(at=at, reading=reading_from({
            "cpu_percent": i, "memory_available_bytes": 4e9,
            ("filesystem_avail_bytes", "/"): 1e9, ("filesystem_avail_bytes", "/srv"): 2e9,
            ("process_resident_memory_bytes", "kura-api"): 50e6,
        }))
    return steps


def families(text):  # type: ignore[no-untyped-def]
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_json_needs_an_admin(client, alice):
    assert client.get("/api/v1/system/metrics", params={"metric": "cpu_percent"}).status_code == 401
    response = client.get("/api/v1/system/metrics", params={"metric": "cpu_percent"}, headers=alice.headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_metrics_json_is_empty_before_the_monitor_has_run(client, admin, settings):
    response = client.get("/api/v1/system/metrics", params={"metric": "cpu_percent"}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["series"] == []
    assert not settings.metrics_db_path.exists()  # the API never creates it


def test_short_ranges_come_from_raw_samples(client, admin, metrics):
    fill(metrics, minutes=30)
    params = {"metric": "cpu_percent", "since": (NOW - timedelta(minutes=10)).isoformat(),
              "until": (NOW + timedelta(seconds=1)).isoformat()}
    body = client.get("/api/v1/system/metrics", params=params, headers=admin.headers).json()
    assert body["resolution"] == "raw" and body["step"] is None
    [series] = body["series"]
    assert series["labels"] == {}
    assert [p[1] for p in series["points"]] == [float(v) for v in range(20, 31)]
    assert series["points"][-1][0] == NOW.timestamp()


def test_labelled_metrics_come_back_one_series_per_label(client, admin, metrics):
    fill(metrics, minutes=2)
    body = client.get("/api/v1/system/metrics", params={"metric": "filesystem_avail_bytes"},
                      headers=admin.headers).json()
    assert [s["labels"] for s in body["series"]] == [{"mountpoint": "/"}, {"mountpoint": "/srv"}]
    assert [len(s["points"]) for s in body["series"]] == [3, 3]


def test_a_step_groups_raw_samples_into_min_avg_max(client, admin, metrics):
    fill(metrics, minutes=30)
    since = NOW - timedelta(minutes=30)
    params = {"metric": "cpu_percent", "since": since.timestamp(), "until": (NOW + timedelta(seconds=1)).timestamp(),
              "step": 600}
    body = client.get("/api/v1/system/metrics", params=params, headers=admin.headers).json()
    assert body["step"] == 600
    points = body["series"][0]["points"]
    assert len(points) in (3, 4)  # 30 minutes in 10-minute buckets, the edges partly filled
    assert min(p[2] for p in points) == 0 and max(p[3] for p in points) == 30
    assert all(p[2] <= p[1] <= p[3] for p in points)


def test_long_ranges_come_from_rollups(client, admin, metrics):
    fill(metrics, minutes=60)
    metrics.rollup(now=NOW + timedelta(minutes=5))
    params = {"metric": "cpu_percent", "since": (NOW - timedelta(days=2)).isoformat()}
    body = client.get("/api/v1/system/metrics", params=params, headers=admin.headers).json()
    assert body["resolution"] == "rollup" and body["step"] % 300 == 0
    points = body["series"][0]["points"]
    assert min(p[2] for p in points) == 0 and max(p[3] for p in points) == 60
    total = sum(range(61))
    assert sum(p[1] for p in points) == pytest.approx(total / 61 * len(points), rel=0.5)


@pytest.mark.parametrize(("params", "message"), [
    ({"metric": "cpu_percnt"}, "unknown metric"),
    ({"metric": "cpu_percent", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since must be"),
    ({"metric": "cpu_percent", "since": (NOW - timedelta(hours=5)).isoformat(), "step": 0.5}, "step is too small"),
    ({"metric": "cpu_percent", "since": (NOW - timedelta(days=60)).isoformat(), "step": 60}, "step is too small"),
])
def test_bad_queries_get_a_clear_400(client, admin, params, message):
    response = client.get("/api/v1/system/metrics", params=params, headers=admin.headers)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_alert_history_and_active_alerts(client, admin, metrics, settings):
    assert client.get("/api/v1/system/alerts", headers=admin.headers).json() == {"active": [], "history": []}
    log = AlertLog(metrics.db, settings)
    fired = AlertState(rule="disk_low", severity="warning", count=2, fired_at=NOW, last_sent_at=NOW,
                       message="/srv has 4.0% free (limit 10%)")
    log.record([AlertEvent("alert", "disk_low", "disk_low:/srv", "warning", fired.message, 4.0, NOW)],
               {"disk_low:/srv": fired})
    log.record([AlertEvent("recovery", "api_down", "api_down", "critical", "answers", 1.0, NOW)], {})
    body = client.get("/api/v1/system/alerts", headers=admin.headers).json()
    assert [a["key"] for a in body["active"]] == ["disk_low:/srv"]
    assert [(h["kind"], h["key"]) for h in body["history"]] == [("recovery", "api_down"), ("alert", "disk_low:/srv")]
    assert client.get("/api/v1/system/alerts", params={"limit": 1}, headers=admin.headers).json()["history"][0][
        "kind"] == "recovery"


def test_prometheus_output_parses_and_uses_node_exporter_style_names(client, admin, metrics):
    fill(metrics, minutes=1)
    client.get("/api/v1/tokens", headers=admin.headers)
    response = client.get("/metrics", headers=admin.headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    got = families(response.text)
    assert got["kura_cpu_percent"].samples[0].value == 1
    assert got["kura_memory_available_bytes"].samples[0].value == 4e9
    assert {s.labels["mountpoint"]: s.value for s in got["kura_filesystem_avail_bytes"].samples} == {
        "/": 1e9, "/srv": 2e9}
    assert got["kura_process_resident_memory_bytes"].samples[0].labels == {"program": "kura-api"}
    assert got["kura_monitor_last_sample_timestamp_seconds"].samples[0].value == NOW.timestamp()
    requests = {(s.labels["route"], s.labels["status"]): s.value for s in got["kura_http_requests"].samples
                if s.name == "kura_http_requests_total"}
    assert requests[("/api/v1/tokens", "200")] == 1
    assert got["kura_http_request_duration_seconds"].type == "histogram"


def test_request_metrics_label_routes_by_template_and_lump_unknown_paths(client, admin):
    client.delete("/api/v1/tokens/12345", headers=admin.headers)
    client.get("/no/such/path/8f1a")
    got = families(client.get("/metrics", headers=admin.headers).text)
    routes = {(s.labels["method"], s.labels["route"], s.labels["status"])
              for s in got["kura_http_requests"].samples if s.name == "kura_http_requests_total"}
    assert ("DELETE", "/api/v1/tokens/{token_id}", "404") in routes
    assert ("GET", "<unmatched>", "404") in routes


def test_prometheus_output_is_valid_without_a_metrics_db(client, admin):
    got = families(client.get("/metrics", headers=admin.headers).text)
    assert "kura_cpu_percent" not in got and "kura_http_requests" in got


def test_scraping_needs_an_admin_by_default(client, alice):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=alice.headers).status_code == 403


def make_client(tmp_path, db, **overrides):  # type: ignore[no-untyped-def]
    settings = load_settings(data_dir=tmp_path / "data", **overrides)
    return TestClient(create_app(settings, db), client=("127.0.0.1", 50000))


def test_anonymous_loopback_scrape_when_allowed(tmp_path, db):
    with make_client(tmp_path, db, metrics_anonymous_loopback=True) as local:
        assert local.get("/metrics").status_code == 200
        # Through a local reverse proxy every client looks like 127.0.0.1: then a token is needed again.
        assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
        assert local.get("/api/v1/system/metrics", params={"metric": "cpu_percent"}).status_code == 401


def test_anonymous_scrape_is_refused_from_elsewhere(tmp_path, db):
    settings = load_settings(data_dir=tmp_path / "data", metrics_anonymous_loopback=True)
    with TestClient(create_app(settings, db), client=("192.0.2.7", 50000)) as remote:
        assert remote.get("/metrics").status_code == 401


def test_prometheus_reports_the_newest_verified_backup(client, admin, settings):
    from backup.job import run_job
    from backup.status import newest_verified_backup

    before = families(client.get("/metrics", headers=admin.headers).text)
    assert "kura_backup_last_success_timestamp_seconds" not in before
    run_job(settings)
    newest = newest_verified_backup(settings)
    assert newest is not None
    got = families(client.get("/metrics", headers=admin.headers).text)
    assert got["kura_backup_last_success_timestamp_seconds"].samples[0].value == newest.created_at.timestamp()


def count_metrics_opens(monkeypatch):  # type: ignore[no-untyped-def]
    """Every open of metrics.db by the API, through the real open_database."""
    opened = []

    def counting(settings, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(kwargs["path"])
        return real(settings, **kwargs)

    real = query.open_database
    monkeypatch.setattr(query, "open_database", counting)
    return opened


def write_sample(settings, cpu):  # type: ignore[no-untyped-def]
    db = open_database(settings, path=settings.metrics_db_path, create=True)
    try:
        MetricsStore(db).insert(at=NOW, reading=reading_from({"cpu_percent": cpu}))
    finally:
        db.dispose()


def cpu_points(client, admin):  # type: ignore[no-untyped-def]
    params = {"metric": "cpu_percent", "since": (NOW - timedelta(minutes=1)).isoformat(),
              "until": (NOW + timedelta(seconds=1)).isoformat()}
    body = client.get("/api/v1/system/metrics", params=params, headers=admin.headers).json()
    return [p[1] for s in body["series"] for p in s["points"]]


def test_metrics_db_is_opened_once_for_every_request_and_scrape(client, admin, metrics, settings, monkeypatch):
    opened = count_metrics_opens(monkeypatch)
    fill(metrics, minutes=1)
    for _ in range(3):
        assert cpu_points(client, admin) == [0.0, 1.0]
        assert client.get("/api/v1/system/alerts", headers=admin.headers).status_code == 200
        assert "kura_cpu_percent" in families(client.get("/metrics", headers=admin.headers).text)
    assert opened == [settings.metrics_db_path]


def test_a_metrics_db_that_appears_later_or_is_replaced_is_read_afresh(client, admin, settings, monkeypatch):
    opened = count_metrics_opens(monkeypatch)
    assert cpu_points(client, admin) == []
    assert opened == []  # nothing to open yet, and nothing created
    write_sample(settings, 7)
    assert cpu_points(client, admin) == [7.0]
    for side in settings.metrics_db_path.parent.glob(settings.metrics_db_path.name + "*"):
        side.unlink()  # deleted while the API holds it open: it must let go of the old file
    assert cpu_points(client, admin) == []
    write_sample(settings, 9)
    assert cpu_points(client, admin) == [9.0]
    assert opened == [settings.metrics_db_path] * 2


def test_the_api_lets_go_of_metrics_db_when_it_stops(app, admin, settings):
    write_sample(settings, 3)
    ours = file_identities([settings.metrics_db_path])
    with TestClient(app) as running:
        assert cpu_points(running, admin) == [3.0]
        assert holds_any(os.getpid(), ours)
    assert not holds_any(os.getpid(), ours)


def test_a_burst_of_metrics_reads_opens_more_connections_rather_than_waiting(metrics, settings):
    fill(metrics, minutes=1)
    reader = query.MetricsReader(settings)
    try:
        engine = reader.db().engine
        held = [engine.connect() for _ in range(6)]  # a capped pool (1 + 2) would wait 30 s for the 4th
        assert all(c.exec_driver_sql("SELECT count(*) FROM samples").scalar() > 0 for c in held)
        for conn in held:
            conn.close()
    finally:
        reader.close()
