"""Many simultaneous writers against a real kura-api (issue 10): every request must finish, with 201
or with 503 + Retry-After in the standard error shape, and /readyz must keep answering meanwhile."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.live import NO_ANSWER, LiveApi, Reply, call, make_token


@dataclass
class Outcome:
    status: int | str  # the HTTP status, or the name of the error when no answer came back
    seconds: float
    well_formed: bool = True  # a 503 carries Retry-After and {"error": {"code", "message", "details"}}


@dataclass
class ReadyzPoller:
    """Polls /readyz on its own connection, one request after another, until stopped."""

    port: int
    timeout: float
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            outcome = timed(lambda: call(self.port, "GET", "/readyz", timeout=self.timeout))
            self.outcomes.append(outcome)
            if not isinstance(outcome.status, int):
                self.stop.wait(0.05)  # refused at once: pace the retries rather than spin


def timed(request) -> Outcome:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    try:
        reply: Reply = request()
    except NO_ANSWER as exc:
        return Outcome(type(exc).__name__, time.perf_counter() - started)
    return Outcome(reply.status, reply.seconds, reply.status != 503 or well_formed_503(reply))


def well_formed_503(reply: Reply) -> bool:
    try:
        error = reply.json()["error"]  # type: ignore[index]
    except (ValueError, KeyError, TypeError):
        return False
    return "retry-after" in reply.headers and isinstance(error, dict) and {"code", "message", "details"} <= set(error)


def burst(port: int, token: str, *, writers: int = 200, timeout: float = 30.0, readyz_timeout: float = 5.0,
          tag: str = "burst") -> dict:
    """`writers` threads wait at a barrier, then each POSTs one bookmark; /readyz is polled meanwhile."""
    gate = threading.Barrier(writers + 1)
    outcomes: list[Outcome | None] = [None] * writers

    def write(i: int) -> None:
        body = {"url": f"https://burst.example/{tag}/{i}", "title": f"burst {tag} {i}", "tags": ["burst"]}
        gate.wait(60)
        outcomes[i] = timed(lambda: call(port, "POST", "/api/v1/bookmarks", token=token, body=body,
                                         timeout=timeout))

    poller = ReadyzPoller(port, readyz_timeout)
    threads = [threading.Thread(target=write, args=(i,), name=f"burst-{i}") for i in range(writers)]
    polling = threading.Thread(target=poller.run, name="readyz-poller")
    for thread in threads:
        thread.start()
    polling.start()
    gate.wait(60)
    for thread in threads:
        thread.join(timeout + 30)
    poller.stop.set()
    polling.join(readyz_timeout + 30)
    if any(t.is_alive() for t in [*threads, polling]):
        raise AssertionError("a burst thread outlived its request timeout")
    return figures([o for o in outcomes if o is not None], poller.outcomes)


def figures(writes: list[Outcome], polls: list[Outcome]) -> dict:
    statuses = Counter(str(o.status) for o in writes)
    latencies = sorted(o.seconds for o in writes)
    answered_polls = [o for o in polls if isinstance(o.status, int)]
    return {
        "writers": len(writes), "statuses": dict(sorted(statuses.items())),
        "created": statuses.get("201", 0), "busy_503": statuses.get("503", 0),
        "unanswered": sum(not isinstance(o.status, int) for o in writes),
        "malformed_503": sum(not o.well_formed for o in writes),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p99_s": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3) if latencies else None,
        "max_s": round(latencies[-1], 3) if latencies else None,
        "readyz_polls": len(polls), "readyz_unanswered": len(polls) - len(answered_polls),
        "readyz_statuses": dict(sorted(Counter(str(o.status) for o in polls).items())),
        "readyz_max_s": round(max((o.seconds for o in polls), default=0.0), 3),
    }


def run_burst(work: Path, *, writers: int = 200, env: dict[str, str] | None = None) -> dict:
    """A fresh database and a real kura-api (with `env` on top of the defaults), one burst, a clean stop."""
    token = make_token(work / "data")
    api = LiveApi(work / "data", work / "kura-api.log", env=dict(env or {}))
    try:
        api.start()
        got = burst(api.port, token, writers=writers)
    finally:
        exit_status = api.stop()
    settings = " ".join(f"{k}={v}" for k, v in (env or {}).items()) or "default"
    return {**got, "settings": settings, "exit_status": exit_status}
