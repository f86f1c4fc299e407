"""Alert rules from settings, and the engine that applies monit-style hysteresis to them.

A condition must hold for ``cycles`` consecutive samples before its alert fires; it fires once,
reminds at most every KURA_ALERT_REMIND_S while it lasts, and sends one recovery when it clears,
only for alerts that fired. A missing value (a probe that timed out) neither advances nor resets a
count: no information is not good news.

After a start a rule needs a full window (``cycles`` samples) before it may fire or recover: an alert
still active from before the restart is not cleared by the first samples, which may be unrepresentative
(psutil's first CPU figure covers only the moment since it was primed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from common.settings import Settings
from monitor.metrics import Reading

MIB = 1024 * 1024
SUSTAINED_CYCLES = 3  # memory and process size: a short spike is normal, three samples in a row is not
DISK_CYCLES = 2  # disk space moves slowly; two samples rule out a read during a temp file's life


@dataclass(frozen=True)
class Observation:
    key: str
    breached: bool
    value: float
    message: str


@dataclass(frozen=True)
class Rule:
    name: str
    severity: Literal["warning", "critical"]
    cycles: int
    check: Callable[[Reading], list[Observation]]
    absent_clears: bool = False  # e.g. a process that exited no longer uses too much memory


@dataclass(frozen=True)
class AlertEvent:
    kind: Literal["alert", "reminder", "recovery"]
    rule: str
    key: str
    severity: str
    message: str
    value: float | None
    at: datetime


@dataclass
class AlertState:
    rule: str
    severity: str
    count: int = 0
    seen: int = 0  # samples with a value since this process started: the window after a start
    fired_at: datetime | None = None
    last_sent_at: datetime | None = None
    message: str = ""


def _single(rule: str, value: float | None, breached: Callable[[float], bool], describe: Callable[[float], str]
            ) -> list[Observation]:
    if value is None:
        return []
    return [Observation(rule, breached(value), value, describe(value))]


def build_rules(settings: Settings) -> list[Rule]:
    s = settings
    cpu_cycles = max(1, math.ceil(s.alert_cpu_for_s / s.monitor_interval))

    def cpu(r: Reading) -> list[Observation]:
        return _single("cpu_high", r.get("cpu_percent"), lambda v: v > s.alert_cpu_percent,
                       lambda v: f"CPU {v:.0f}% (limit {s.alert_cpu_percent:g}% for {s.alert_cpu_for_s:g} s)")

    def memory(r: Reading) -> list[Observation]:
        return _single("memory_low", r.get("memory_available_percent"),
                       lambda v: v < s.alert_memory_available_percent,
                       lambda v: f"memory available {v:.1f}% (limit {s.alert_memory_available_percent:g}%)")

    def disk(rule: str, limit: float) -> Callable[[Reading], list[Observation]]:
        def check(r: Reading) -> list[Observation]:
            return [Observation(f"{rule}:{mount}", pct < limit, pct,
                                f"{mount} has {pct:.1f}% free (limit {limit:g}%)")
                    for mount, pct in sorted(r.family("filesystem_avail_percent").items())]
        return check

    def api(r: Reading) -> list[Observation]:
        return _single("api_down", r.get("api_up"), lambda v: v < 1,
                       lambda v: f"{s.monitor_api_url}/readyz " + ("answers" if v >= 1 else "is failing"))

    def backup(r: Reading) -> list[Observation]:
        return _single("backup_stale", r.get("backup_fresh"), lambda v: v < 1,
                       lambda v: r.notes.get("backup", "backup check " + ("passed" if v >= 1 else "failed")))

    def rss(r: Reading) -> list[Observation]:
        # A program's own memory, not all it has resident: the backup maps its copy of the database
        # (integrity.py), and those pages are page cache, which the kernel reclaims under pressure.
        return [Observation(f"process_rss:{program}", rss / MIB > s.alert_process_rss_mb, rss,
                            f"{program} memory of its own {rss / MIB:.0f} MiB "
                            f"(limit {s.alert_process_rss_mb:g} MiB)")
                for program, rss in sorted(r.family("process_private_memory_bytes").items())]

    return [
        Rule("cpu_high", "warning", cpu_cycles, cpu),
        Rule("memory_low", "warning", SUSTAINED_CYCLES, memory),
        Rule("disk_low", "warning", DISK_CYCLES, disk("disk_low", s.alert_disk_free_percent)),
        Rule("disk_critical", "critical", DISK_CYCLES, disk("disk_critical", s.alert_disk_free_critical_percent)),
        Rule("api_down", "critical", s.alert_readyz_failures, api),
        Rule("backup_stale", "warning", 1, backup),
        Rule("process_rss", "warning", SUSTAINED_CYCLES, rss, absent_clears=True),
    ]


@dataclass
class AlertEngine:
    rules: list[Rule]
    remind_s: float
    states: dict[str, AlertState] = field(default_factory=dict)

    @property
    def active(self) -> dict[str, AlertState]:
        return {key: st for key, st in self.states.items() if st.fired_at is not None}

    def evaluate(self, at: datetime, reading: Reading) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        for rule in self.rules:
            seen = set()
            for obs in rule.check(reading):
                seen.add(obs.key)
                events.extend(self._step(rule, obs, at))
            if rule.absent_clears:
                for key, st in list(self.states.items()):
                    if st.rule == rule.name and key not in seen and st.fired_at is not None:
                        gone = Observation(key, False, 0.0, f"{key.partition(':')[2]} is no longer running")
                        events.extend(self._step(rule, gone, at))
        return events

    def _step(self, rule: Rule, obs: Observation, at: datetime) -> list[AlertEvent]:
        st = self.states.setdefault(obs.key, AlertState(rule=rule.name, severity=rule.severity))
        st.seen += 1
        if not obs.breached:
            st.count = 0
            if st.fired_at is None or st.seen < rule.cycles:
                return []
            st.fired_at = st.last_sent_at = None
            return [AlertEvent("recovery", rule.name, obs.key, rule.severity, obs.message, obs.value, at)]
        st.count += 1
        st.message = obs.message
        if st.fired_at is None:
            if st.count < rule.cycles:
                return []
            st.fired_at = st.last_sent_at = at
            return [AlertEvent("alert", rule.name, obs.key, rule.severity, obs.message, obs.value, at)]
        assert st.last_sent_at is not None
        if (at - st.last_sent_at).total_seconds() >= self.remind_s:
            st.last_sent_at = at
            return [AlertEvent("reminder", rule.name, obs.key, rule.severity, obs.message, obs.value, at)]
        return []
