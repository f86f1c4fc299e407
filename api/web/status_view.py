"""What the status page shows, gathered from the same read-only functions as the JSON system routes.

Nothing here writes or creates anything: before the monitor or the first backup has run, each part
comes back empty and the page says "no data yet". The history is read from the monitor's 5-minute
rollups (both ranges are longer than the raw window the query module serves from samples), at most
charts.MAX_POINTS points per series, so the page costs a few index seeks whatever the range.

The API's request rate and latency over time come from the monitor too: kura-api publishes its
request figures every few seconds (api/request_stats.py) and the monitor stores their rate and p50/p99
(monitor/api_requests.py). The "since start" figures come from this process's own histogram.
"""

from __future__ import annotations

import math
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.concurrency import run_in_threadpool
from loguru import logger

from api.health import NotReady, readiness
from api.request_metrics import RequestMetrics
from api.transactions import Transactions
from api.web import charts
from backup.status import BackupInfo, recent_runs, staleness_and_newest
from common.db import Database
from common.settings import Settings
from common.version import VERSION
from monitor import query
from monitor.query import MetricsReader

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
RECENT_RUNS = 5
RECENT_ALERTS = 20
SYSTEMCTL_TIMEOUT_S = 2.0
API_PROGRAM = "kura-api"
# When this process loaded its pages, i.e. when kura-api started (create_app imports them). Not
# psutil's create_time: it needs /proc/stat for the boot time, which the unit's ProcSubset=pid hides.
LOADED_AT = time.time()


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    metric: str
    unit: str
    y_max: float | None = None
    label: str | None = None  # one label of a labelled metric; None: every label, one chart each
    lines: tuple[str, ...] = ()  # these labels as the lines of one chart instead (p50 and p99)
    scale: float = 1.0  # stored unit → shown unit
    invert: bool = False  # show 100 - value (memory *used* from memory *available*)


SPECS = (
    ChartSpec("cpu", "Host CPU use", "cpu_percent", "%", 100),
    ChartSpec("memory", "Memory used", "memory_available_percent", "%", 100, label="", invert=True),
    ChartSpec("disk", "Disk free on {label}", "filesystem_avail_percent", "%", 100),
    ChartSpec("api-rate", "API requests per second", "api_requests_per_second", "req/s"),
    ChartSpec("api-latency", "API latency (p50 and p99)", "api_request_latency_ms", "ms", lines=("p50", "p99")),
    ChartSpec("api-cpu", "API process CPU (percent of one core)", "process_cpu_percent", "%", label=API_PROGRAM),
    ChartSpec("api-memory", "API process memory (resident)", "process_resident_memory_bytes", "MB",
              label=API_PROGRAM, scale=1e-6),
)


@dataclass(frozen=True)
class DrawnChart:
    chart: charts.Chart
    chart_id: str
    svg: str
    summaries: list[charts.Summary]


@dataclass(frozen=True)
class Requests:
    total: int
    per_second: float  # averaged since the process started
    p50: str | None  # "≤ 25 ms": the upper bound of the histogram bucket holding the quantile
    p99: str | None


@dataclass
class StatusView:
    now: datetime
    range_name: str
    version: str = VERSION
    started_at: datetime | None = None
    ready: bool = False
    ready_detail: str = ""
    requests: Requests | None = None
    api_up_percent: float | None = None  # share of the monitor's /readyz checks that answered, over the range
    last_sample_at: datetime | None = None
    monitor_alive: bool = False
    active_alerts: list[dict[str, Any]] = field(default_factory=list)
    alert_history: list[dict[str, Any]] = field(default_factory=list)
    runs: list[Any] = field(default_factory=list)  # domain.models.BackupRun, newest first
    newest_verified: BackupInfo | None = None
    backup_fresh: bool = False
    backup_message: str = ""
    next_backup: str = "unknown"
    charts: list[DrawnChart] = field(default_factory=list)

    def ago(self, moment: datetime) -> str:
        return age((self.now - moment).total_seconds())

    @staticmethod
    def when(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _points(raw: list[list[float]], spec: ChartSpec) -> list[charts.Point]:
    out = []
    for t, avg, low, high in raw:
        if spec.invert:
            avg, low, high = 100 - avg, 100 - high, 100 - low
        out.append((t, avg * spec.scale, low * spec.scale, high * spec.scale))
    return out


def _drawn(spec: ChartSpec, title: str, lines: list[charts.Line], *, chart_id: str, since: datetime,
           until: datetime, gap_s: float) -> DrawnChart:
    chart = charts.Chart(title=title, unit=spec.unit, since=since.timestamp(), until=until.timestamp(),
                         lines=lines, gap_s=gap_s, y_max=spec.y_max)
    return DrawnChart(chart, chart_id, charts.svg(chart, chart_id=chart_id), charts.summaries(chart))


def _draw(db: Database | None, spec: ChartSpec, *, since: datetime, until: datetime, range_name: str,
          settings: Settings) -> list[DrawnChart]:
    step_s = (until - since).total_seconds() / charts.MAX_POINTS
    found = query.series(db, metric=spec.metric, since=since, until=until, step_s=step_s, settings=settings)
    # A missing bucket is a gap; half a step of slack absorbs partly filled edge buckets.
    drawing = {"since": since, "until": until, "gap_s": 1.5 * (found["step"] or step_s)}
    by_label = {next(iter(s["labels"].values()), ""): s["points"] for s in found["series"]}
    if spec.lines:  # one chart, one line per label, told apart by their dash patterns
        lines = [charts.Line(label, _points(by_label.get(label, []), spec)) for label in spec.lines]
        return [_drawn(spec, spec.title, lines, chart_id=f"chart-{spec.key}-{range_name}", **drawing)]
    wanted = [label for label in by_label if spec.label is None or label == spec.label]
    if not wanted:  # still one chart, saying "no data yet"
        wanted, by_label = [spec.label or ""], {spec.label or "": []}
    drawn = []
    for index, label in enumerate(wanted):
        title = spec.title.format(label=label or "the data folder")
        lines = [charts.Line(label or spec.title, _points(by_label[label], spec))]
        chart_id = f"chart-{spec.key}-{index}-{range_name}" if len(wanted) > 1 else f"chart-{spec.key}-{range_name}"
        drawn.append(_drawn(spec, title, lines, chart_id=chart_id, **drawing))
    return drawn


def _availability(db: Database | None, *, since: datetime, until: datetime, settings: Settings) -> float | None:
    # Each point is a 5-minute (or wider, equal) bucket's average: their mean weighs the range evenly.
    found = query.series(db, metric="api_up", since=since, until=until,
                         step_s=(until - since).total_seconds() / charts.MAX_POINTS, settings=settings)
    points = [p for s in found["series"] for p in s["points"]]
    return 100 * sum(p[1] for p in points) / len(points) if points else None


def read_monitor(view: StatusView, *, metrics: MetricsReader, settings: Settings) -> None:
    """Fill the monitor's parts of ``view`` from metrics.db (blocking: run it on a worker thread)."""
    until = view.now
    since = until - RANGES[view.range_name]
    db = metrics.db()
    taken_at, _values = query.latest(db)
    alerts = query.alert_history(db, since=None, limit=RECENT_ALERTS)
    view.api_up_percent = _availability(db, since=since, until=until, settings=settings)
    for spec in SPECS:
        view.charts.extend(_draw(db, spec, since=since, until=until, range_name=view.range_name,
                                 settings=settings))
    view.active_alerts, view.alert_history = alerts["active"], alerts["history"]
    if taken_at is not None:
        view.last_sample_at = datetime.fromtimestamp(taken_at, tz=UTC)
        # The monitor's own watchdog limit: one interval late at most, plus the longest probe.
        limit_s = 2 * settings.monitor_interval + settings.monitor_probe_timeout_s
        view.monitor_alive = (view.now - view.last_sample_at).total_seconds() <= limit_s


def next_timer_run(unit: str = "kura-backup.timer") -> str:
    """When systemd fires the backup timer next, as systemctl prints it; "unknown" without systemd
    (a container, a developer's machine) or when the timer is not installed."""
    try:
        done = subprocess.run(["systemctl", "show", unit, "-p", "NextElapseUSecRealtime", "--value"],
                              capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    answer = done.stdout.strip()
    return answer if done.returncode == 0 and answer and answer != "n/a" else "unknown"


def read_backups(view: StatusView, *, settings: Settings) -> None:
    """The backup files' side (manifests on disk, the timer): blocking, for a worker thread."""
    view.backup_fresh, view.backup_message, view.newest_verified = staleness_and_newest(settings, now=view.now)
    view.next_backup = next_timer_run()


def request_totals(recorder: RequestMetrics | None, *, uptime_s: float) -> Requests | None:
    """Requests answered since this API process started, from its own latency histogram."""
    if recorder is None:
        return None
    totals = recorder.totals()
    total = totals.requests

    def quantile(q: float) -> str | None:
        if not total:
            return None
        bound = next(le for le, count in totals.buckets if count >= q * total)
        finite = totals.buckets[-2][0]  # the last bucket is +Inf
        return f"over {finite:g} s" if bound == math.inf else f"≤ {bound * 1000:g} ms"

    return Requests(total=total, per_second=total / uptime_s if uptime_s > 0 else 0.0,
                    p50=quantile(0.5), p99=quantile(0.99))


async def _readiness(tx: Transactions) -> tuple[bool, str]:
    try:
        return True, f"schema {await readiness(tx)}"
    except NotReady as exc:
        return False, str(exc)
    except Exception as exc:  # noqa: BLE001 - like /readyz: a failing check is "not ready", not a 500
        logger.opt(exception=exc).error("readiness check failed")
        return False, f"{type(exc).__name__}: {exc}"


async def gather(*, tx: Transactions, metrics: MetricsReader, settings: Settings, recorder: RequestMetrics | None,
                 range_name: str, now: datetime | None = None) -> StatusView:
    view = StatusView(now=now or datetime.now(UTC), range_name=range_name)
    view.started_at = datetime.fromtimestamp(LOADED_AT, tz=UTC)
    view.requests = request_totals(recorder, uptime_s=time.time() - LOADED_AT)
    view.ready, view.ready_detail = await _readiness(tx)
    view.runs = await tx.read(recent_runs, limit=RECENT_RUNS)
    await run_in_threadpool(read_backups, view, settings=settings)
    await run_in_threadpool(read_monitor, view, metrics=metrics, settings=settings)
    return view


def age(seconds: float) -> str:
    """A duration as a person says it: "45 s", "12 min", "5.5 h", "3.2 days"."""
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def size(count: int | None) -> str:
    """Bytes in decimal units, as `ls -h --si` and the backup mails print them."""
    if count is None:
        return "-"
    if count < 1000:
        return f"{count} bytes"
    value, unit = float(count), "bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000:
            break
    return f"{value:.1f} {unit}"
