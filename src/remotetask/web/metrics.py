"""Prometheus metrics in the text exposition format, written by hand (no dependency).

Counters and histograms are kept in memory by an observer of the App (so they
count this process's submissions and runs); the queue-depth gauge is read from
the store at scrape time, so it is right across processes, and so are the
database's own gauges (``remotetask_db_*``: the oldest open transaction and
the jobs table's dead rows on PostgreSQL, the WAL size on SQLite). Labels are the
service (``site@Service``) and the task, never a job id. Series are filtered
by the scraping token's sites.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

from remotetask.app import App
from remotetask.jobs import COMPLETED, ERROR, QUEUED, Job, Outcome
from remotetask.refs import ServiceRef

log = logging.getLogger("remotetask")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
Key = tuple[str, str]


class Histogram:
    """Cumulative-bucket histogram per (service, task)."""

    def __init__(self) -> None:
        self.counts: dict[Key, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: dict[Key, float] = defaultdict(float)

    def observe(self, key: Key, value: float) -> None:
        self.counts[key][bisect.bisect_left(BUCKETS, value)] += 1
        self.sums[key] += value


class Metrics:
    """A JobObserver that counts, times and logs every job of the app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.submitted: dict[Key, int] = defaultdict(int)
        self.finished: dict[tuple[str, str, str], int] = defaultdict(int)
        self.run_seconds = Histogram()
        self.wait_seconds = Histogram()

    def job_submitted(self, ref: ServiceRef, tasks: list[str]) -> None:
        with self._lock:
            for task in tasks:
                self.submitted[(str(ref), task)] += 1

    def job_finished(self, ref: ServiceRef, job: Job, outcome: Outcome, finished: float) -> None:
        label = {COMPLETED: "completed", ERROR: "error", QUEUED: "retry"}.get(
            outcome.status, str(outcome.status)
        )
        started = job.started if job.started is not None else finished
        due = max(job.created, job.next_call or job.created)
        key = (str(ref), job.task)
        with self._lock:
            self.finished[(*key, label)] += 1
            self.run_seconds.observe(key, max(0.0, finished - started))
            self.wait_seconds.observe(key, max(0.0, started - due))
        log.info(
            "job %s %s: task %s on %s in %.3f s",
            job.id,
            label,
            job.task,
            ref,
            finished - started,
            extra={
                "job_id": job.id,
                "task": job.task,
                "service": str(ref),
                "outcome": label,
                "attempt": job.attempts,
                "duration_ms": round((finished - started) * 1000, 1),
            },
        )

    def render(self, app: App, visible: Callable[[str], bool]) -> str:
        """The exposition text, with only the services whose site ``visible`` accepts."""

        def shown(service: str) -> bool:
            return visible(ServiceRef.parse(service).site)

        lines: list[str] = []
        with self._lock:
            _counter(
                lines,
                "remotetask_jobs_submitted_total",
                "Jobs stored by this process.",
                [
                    ((("service", s), ("task", t)), n)
                    for (s, t), n in sorted(self.submitted.items())
                    if shown(s)
                ],
            )
            _counter(
                lines,
                "remotetask_jobs_finished_total",
                "Runs ended in this process, by outcome (completed, error, retry, cancelled).",
                [
                    ((("service", s), ("task", t), ("outcome", o)), n)
                    for (s, t, o), n in sorted(self.finished.items())
                    if shown(s)
                ],
            )
            _histogram(
                lines, "remotetask_job_run_seconds", "Run time of a job.", self.run_seconds, shown
            )
            _histogram(
                lines,
                "remotetask_job_wait_seconds",
                "Time from when a job was due to when it started.",
                self.wait_seconds,
                shown,
            )
        depth = app.status_counts()
        lines.append("# HELP remotetask_jobs Jobs in the database by service and status.")
        lines.append("# TYPE remotetask_jobs gauge")
        for (ref, status), count in sorted(depth.items(), key=lambda i: (str(i[0][0]), i[0][1])):
            if visible(ref.site):
                labels = _labels((("service", str(ref)), ("status", status)))
                lines.append(f"remotetask_jobs{labels} {count}")
        for name, value in sorted(app.database_health().items()):
            lines.append(f"# HELP remotetask_db_{name} The database's {name.replace('_', ' ')}.")
            lines.append(f"# TYPE remotetask_db_{name} gauge")
            lines.append(f"remotetask_db_{name} {value!r}")
        return "\n".join(lines) + "\n"


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{name}="{escape(value)}"' for name, value in pairs) + "}"


Series = Iterable[tuple[tuple[tuple[str, str], ...], int]]


def _counter(lines: list[str], name: str, help: str, series: Series) -> None:
    lines.append(f"# HELP {name} {help}")
    lines.append(f"# TYPE {name} counter")
    lines.extend(f"{name}{_labels(labels)} {value}" for labels, value in series)


def _histogram(
    lines: list[str], name: str, help: str, histogram: Histogram, shown: Callable[[str], bool]
) -> None:
    lines.append(f"# HELP {name} {help}")
    lines.append(f"# TYPE {name} histogram")
    for (service, task), counts in sorted(histogram.counts.items()):
        if not shown(service):
            continue
        base = (("service", service), ("task", task))
        total = 0
        for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
            total += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f"{name}_bucket{_labels((*base, ('le', le)))} {total}")
        lines.append(f"{name}_sum{_labels(base)} {histogram.sums[(service, task)]}")
        lines.append(f"{name}_count{_labels(base)} {total}")
