"""The catalogue of what the monitor records: one name per series family, its help text and label.

A series is identified by ``(name, label)``: the label is the value of the family's one label
(a mountpoint, a program, a core), or "" for unlabelled families. Prometheus names are ``kura_`` +
name, node_exporter style.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SeriesKey = tuple[str, str]


@dataclass(frozen=True)
class Metric:
    help: str
    label: str = ""


METRICS: dict[str, Metric] = {
    "cpu_percent": Metric("Host CPU use since the previous sample, percent of all cores"),
    "cpu_core_percent": Metric("CPU use per core since the previous sample, percent", "core"),
    "load1": Metric("Load average over 1 minute"),
    "load5": Metric("Load average over 5 minutes"),
    "load15": Metric("Load average over 15 minutes"),
    "memory_total_bytes": Metric("Total physical memory"),
    "memory_available_bytes": Metric("Memory available to new programs without swapping"),
    "memory_available_percent": Metric("Memory available, percent of total"),
    "swap_total_bytes": Metric("Total swap"),
    "swap_used_bytes": Metric("Swap in use"),
    "filesystem_size_bytes": Metric("Size of the file system holding Kura's data or backups", "mountpoint"),
    "filesystem_avail_bytes": Metric("Space available to Kura on the file system", "mountpoint"),
    "filesystem_avail_percent": Metric("Space available, percent of the file system size", "mountpoint"),
    "disk_read_bytes_per_second": Metric("Bytes read from all disks per second since the previous sample"),
    "disk_write_bytes_per_second": Metric("Bytes written to all disks per second since the previous sample"),
    "network_receive_bytes_per_second": Metric("Bytes received on all interfaces per second"),
    "network_transmit_bytes_per_second": Metric("Bytes sent on all interfaces per second"),
    "process_count": Metric("Running processes of a Kura program", "program"),
    "process_cpu_percent": Metric("CPU use of a Kura program since the previous sample, percent of one core",
                                  "program"),
    "process_resident_memory_bytes": Metric("Resident memory of a Kura program", "program"),
    "process_private_memory_bytes": Metric("Resident memory a Kura program holds of its own: not the pages of "
                                           "files it maps, which the kernel can reclaim", "program"),
    "process_open_fds": Metric("Open file descriptors of a Kura program", "program"),
    "process_threads": Metric("Threads of a Kura program", "program"),
    "database_file_bytes": Metric("Size of the bookmark database file and its write-ahead log", "file"),
    "api_up": Metric("1 when the API's /readyz answered 200 at the last check, else 0"),
    "api_requests_per_second": Metric("Requests the API answered per second, from the figures it publishes in "
                                      "api-requests.json, between its two newest writes"),
    "api_request_latency_ms": Metric("Time the API took to answer the requests of that interval, milliseconds: "
                                     "the median (p50) and the 99th percentile (p99)", "percentile"),
    "backup_fresh": Metric("1 when the newest verified backup is within KURA_BACKUP_MAX_AGE_HOURS, else 0"),
    "backup_last_success_timestamp_seconds": Metric("Creation time of the newest verified backup, Unix seconds"),
}


@dataclass
class Reading:
    """One sample's values; ``notes`` carries text the alert messages quote (e.g. the backup check)."""

    values: dict[SeriesKey, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, label: str = "") -> float | None:
        return self.values.get((name, label))

    def family(self, name: str) -> dict[str, float]:
        return {label: value for (n, label), value in self.values.items() if n == name}


def reading_from(values: dict[str, float] | dict[SeriesKey, float], notes: dict[str, str] | None = None) -> Reading:
    """Build a Reading from ``{"cpu_percent": 5}`` or ``{("filesystem_avail_percent", "/"): 40}``."""
    keyed = {(key if isinstance(key, tuple) else (key, "")): float(v) for key, v in values.items()}
    unknown = sorted({name for name, _ in keyed} - METRICS.keys())
    if unknown:
        raise ValueError(f"unknown metric(s): {', '.join(unknown)}")
    return Reading(values=keyed, notes=dict(notes or {}))
