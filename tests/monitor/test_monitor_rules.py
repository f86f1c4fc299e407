"""Alert rules over scripted sample sequences: fire once after N samples, remind, recover once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.settings import load_settings
from monitor.metrics import reading_from
from monitor.rules import MIB, AlertEngine, build_rules

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_engine(tmp_path, **overrides):  # type: ignore[no-untyped-def]
    settings = load_settings(data_dir=tmp_path, **overrides)
    return AlertEngine(build_rules(settings), remind_s=settings.alert_remind_s)


def run(engine, readings, *, every_s=10.0):  # type: ignore[no-untyped-def]
    """Feed readings one per interval; return (sample index, kind, key) for every event."""
    out = []
    for i, values in enumerate(readings):
        for event in engine.evaluate(T0 + timedelta(seconds=i * every_s), reading_from(values)):
            out.append((i, event.kind, event.key))
    return out


def test_cpu_alert_fires_once_after_holding_for_the_configured_time(tmp_path):
    engine = make_engine(tmp_path, monitor_interval=10, alert_cpu_for_s=50, alert_remind_s=3600)
    readings = [{"cpu_percent": 95}] * 20 + [{"cpu_percent": 20}] * 3
    assert run(engine, readings) == [(4, "alert", "cpu_high"), (20, "recovery", "cpu_high")]


def test_a_dip_below_the_limit_restarts_the_count(tmp_path):
    engine = make_engine(tmp_path, monitor_interval=10, alert_cpu_for_s=30)
    readings = [{"cpu_percent": 95}] * 2 + [{"cpu_percent": 50}] + [{"cpu_percent": 95}] * 3
    assert run(engine, readings) == [(5, "alert", "cpu_high")]


def test_condition_that_never_fired_sends_no_recovery(tmp_path):
    engine = make_engine(tmp_path, monitor_interval=10, alert_cpu_for_s=100)
    readings = [{"cpu_percent": 99}] * 5 + [{"cpu_percent": 1}] * 5
    assert run(engine, readings) == []


def test_reminders_come_at_most_every_remind_interval_while_it_lasts(tmp_path):
    engine = make_engine(tmp_path, monitor_interval=10, alert_memory_available_percent=10, alert_remind_s=60)
    readings = [{"memory_available_percent": 5}] * 16 + [{"memory_available_percent": 50}]
    events = run(engine, readings)
    # Fires at the 3rd sample (index 2), reminds 60 s later (index 8, 14), recovers once.
    assert events == [(2, "alert", "memory_low"), (8, "reminder", "memory_low"), (14, "reminder", "memory_low"),
                      (16, "recovery", "memory_low")]


def test_second_episode_fires_again_after_a_recovery(tmp_path):
    engine = make_engine(tmp_path, alert_readyz_failures=2)
    readings = [{"api_up": 0}] * 2 + [{"api_up": 1}] + [{"api_up": 0}] * 2
    assert run(engine, readings) == [(1, "alert", "api_down"), (2, "recovery", "api_down"), (4, "alert", "api_down")]


def test_missing_values_neither_fire_nor_recover(tmp_path):
    engine = make_engine(tmp_path, alert_readyz_failures=2)
    readings = [{"api_up": 0}, {}, {"api_up": 0}, {}, {}, {"api_up": 1}]
    assert run(engine, readings) == [(2, "alert", "api_down"), (5, "recovery", "api_down")]


def test_disk_rules_are_per_mountpoint_with_a_critical_level(tmp_path):
    engine = make_engine(tmp_path, alert_disk_free_percent=10, alert_disk_free_critical_percent=5)
    low = {("filesystem_avail_percent", "/"): 50, ("filesystem_avail_percent", "/backups"): 8}
    critical = {("filesystem_avail_percent", "/"): 50, ("filesystem_avail_percent", "/backups"): 3}
    events = run(engine, [low, low, critical, critical, low])
    assert events == [(1, "alert", "disk_low:/backups"), (3, "alert", "disk_critical:/backups"),
                             (4, "recovery", "disk_critical:/backups")]
    assert sorted(engine.active) == ["disk_low:/backups"]


def test_backup_rule_quotes_the_backup_check(tmp_path):
    engine = make_engine(tmp_path)
    reading = reading_from({"backup_fresh": 0}, notes={"backup": "newest verified backup is 30.0 h old"})
    [event] = engine.evaluate(T0, reading)
    assert (event.kind, event.rule, event.severity) == ("alert", "backup_stale", "warning")
    assert event.message == "newest verified backup is 30.0 h old"


def test_process_rss_alert_recovers_when_the_process_exits(tmp_path):
    engine = make_engine(tmp_path, alert_process_rss_mb=100)
    big = {("process_private_memory_bytes", "kura-api"): 200 * MIB,
           ("process_private_memory_bytes", "kura-monitor"): 30 * MIB}
    gone = {("process_private_memory_bytes", "kura-monitor"): 30 * MIB}
    events = run(engine, [big, big, big, gone, gone])
    assert events == [(2, "alert", "process_rss:kura-api"), (3, "recovery", "process_rss:kura-api")]


def test_a_file_a_process_maps_does_not_count_against_its_memory_limit(tmp_path):
    engine = make_engine(tmp_path, alert_process_rss_mb=512)
    # The backup with its 1.2 GB copy mapped: resident far above the limit, its own memory not.
    mapping = {("process_resident_memory_bytes", "kura-backup"): 1500 * MIB,
               ("process_private_memory_bytes", "kura-backup"): 120 * MIB}
    assert run(engine, [mapping] * 5) == []
    engine = make_engine(tmp_path, alert_process_rss_mb=512)
    swollen = {("process_resident_memory_bytes", "kura-backup"): 700 * MIB,
               ("process_private_memory_bytes", "kura-backup"): 600 * MIB}
    events = [event for i in range(3)
              for event in engine.evaluate(T0 + timedelta(seconds=10 * i), reading_from(swollen))]
    assert [(e.key, e.message) for e in events] == [
        ("process_rss:kura-backup", "kura-backup memory of its own 600 MiB (limit 512 MiB)")]


def test_alert_messages_name_the_value_and_the_limit(tmp_path):
    engine = make_engine(tmp_path, alert_cpu_for_s=0)
    [event] = engine.evaluate(T0, reading_from({"cpu_percent": 97.2}))
    assert event.message == "CPU 97% (limit 90% for 0 s)" and event.value == pytest.approx(97.2)


def test_unknown_metric_names_are_refused():
    with pytest.raises(ValueError, match="unknown metric"):
        reading_from({"cpu_percnt": 1})
