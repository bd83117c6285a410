"""C3-C5: cron slots under clock faults, a long outage of every scheduler, and DST.

Each scheduler is an App on the same PostgreSQL schema with a clock of its own
(``FrozenClock``), driven by the test through ``process``: the slots fired are
the ``cron_runs`` rows, unique on (job, scheduled time).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from remotetask import App, FrozenClock, Settings
from tests.faults.harness import query

pytestmark = pytest.mark.postgres
T0 = 1_800_000_000.0  # a whole minute
STEP = 15.0
Offset = Callable[[float], float]
"""A scheduler's clock error at a true time: its clock reads true time + offset."""


def scheduler(url: str) -> tuple[App, FrozenClock]:
    clock = FrozenClock(T0)
    app = App(url, clock=clock, settings=Settings(auto_migrate=True))
    app.register("echo", lambda value: value)
    app.add_service("site1@S")
    return app, clock


def run(url: str, offsets: list[Offset], start: float, end: float, step: float = STEP) -> list[int]:
    """Step true time from ``start`` to ``end``; each scheduler processes at its own time.

    Returns how many firings each scheduler made.
    """
    apps = [scheduler(url) for _ in offsets]
    fired = [0] * len(apps)
    order, rng = list(range(len(apps))), random.Random(7)
    try:
        for truth in steps(start, end, step):
            rng.shuffle(order)  # which one looks first changes from step to step
            for k in order:
                app, clock = apps[k]
                clock.set(truth + offsets[k](truth))
                fired[k] += app.service("site1@S").process()
    finally:
        for app, _ in apps:
            app.close()
    return fired


def steps(start: float, end: float, step: float) -> Iterator[float]:
    now = start
    while now <= end:
        yield now
        now += step


def add_every_minute(url: str, **schedule: str) -> int:
    app, clock = scheduler(url)
    clock.set(T0)
    job_id = app.service("site1@S").add_cron_job("echo", 1, **schedule)  # type: ignore[arg-type]
    app.close()
    return job_id


def slots(url: str, job_id: int) -> list[tuple[float, float]]:
    rows = query(
        url,
        "SELECT scheduled_for, started FROM cron_runs WHERE job_id = %s ORDER BY 1",
        (job_id,),
    )
    return [(float(slot), float(started)) for slot, started in rows]


def gaps(fired: list[float]) -> list[float]:
    """Whole minutes between the first and last slot that did not fire."""
    have = set(fired)
    every = [fired[0] + 60 * i for i in range(int((fired[-1] - fired[0]) // 60) + 1)]
    return [slot for slot in every if slot not in have]


def no_fault(_: float) -> float:
    return 0.0


def back_5_min_at_minute_20(truth: float) -> float:
    return -300.0 if truth >= T0 + 20 * 60 else 0.0


@pytest.mark.parametrize(
    ("case", "offsets"),
    [
        ("one scheduler 90 s ahead", [no_fault, lambda _: 90.0]),
        ("one scheduler 90 s behind", [no_fault, lambda _: -90.0]),
        ("one of two jumps back 5 min", [no_fault, back_5_min_at_minute_20]),
        ("the only scheduler jumps back 5 min", [back_5_min_at_minute_20]),
    ],
)
def test_c3_clock_faults_neither_repeat_nor_skip_a_slot(
    postgres_url: str, case: str, offsets: list[Offset]
) -> None:
    job_id = add_every_minute(postgres_url, cron="* * * * *")
    fired = run(postgres_url, offsets, T0 + 1, T0 + 60 * 60)
    runs = slots(postgres_url, job_id)
    times = [slot for slot, _ in runs]
    print(
        f"\nC3 {case}: 60 true minutes, firings per scheduler {fired}, slots "
        f"{len(set(times))}, duplicates {len(times) - len(set(times))}, skipped "
        f"{len(gaps(times))}"
    )
    assert len(times) == len(set(times)), "a slot fired twice"
    assert gaps(times) == [], "a slot was skipped"
    assert len(times) >= 54  # a clock 5 min behind ends at its minute 55


def test_c4_after_90_minutes_without_schedulers_one_catch_up_firing(postgres_url: str) -> None:
    job_id = add_every_minute(postgres_url, cron="* * * * *")
    before = run(postgres_url, [no_fault, no_fault], T0 + 1, T0 + 10 * 60 + 1)
    down_until = T0 + 100 * 60 + 1  # 90 minutes in which nothing ran
    (caught_up,) = run(postgres_url, [no_fault], down_until, down_until)
    after = run(postgres_url, [no_fault, no_fault], down_until + STEP, down_until + 10 * 60)
    runs = slots(postgres_url, job_id)
    late = [(slot, started) for slot, started in runs if started == down_until]
    print(
        f"\nC4: 2 schedulers for 10 min, all down 90 min, then 2 again for 10 min: firings "
        f"{sum(before)} before, {caught_up} at the restart (slot {late[0][0] - T0:.0f} s "
        f"after T0, fired at the first pass), {sum(after)} after; total {len(runs)}"
    )
    assert caught_up == 1, "exactly one catch-up firing (no back-fill)"
    assert late[0][0] == T0 + 11 * 60, "it is the first slot missed"
    assert sum(after) == 10
    assert len(runs) == len({slot for slot, _ in runs})


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("change", "first_day", "local_time"),
    [
        ("spring forward", datetime(2026, 3, 26, tzinfo=UTC), {"2026-03-29": "03:00 CEST"}),
        ("fall back", datetime(2026, 10, 22, tzinfo=UTC), {"2026-10-25": "02:30 CEST"}),
    ],
)
def test_c5_berlin_0230_fires_once_a_day_across_dst(
    postgres_url: str, change: str, first_day: datetime, local_time: dict[str, str]
) -> None:
    start = first_day.timestamp()
    app, clock = scheduler(postgres_url)
    clock.set(start)
    job_id = app.service("site1@S").add_cron_job(
        "echo", 1, cron="30 2 * * *", timezone="Europe/Berlin"
    )
    app.close()
    run(postgres_url, [no_fault], start, start + 7 * 86400, step=300.0)
    fired = [datetime.fromtimestamp(slot, BERLIN) for slot, _ in slots(postgres_url, job_id)]
    per_day = Counter(f"{t:%Y-%m-%d}" for t in fired)
    at = {f"{t:%Y-%m-%d}": f"{t:%H:%M %Z}" for t in fired}
    print(f"\nC5 {change}: Europe/Berlin '30 2 * * *' for 7 days: fired at {at}")
    assert len(per_day) == 7
    assert set(per_day.values()) == {1}
    for day, wall in local_time.items():
        assert at[day] == wall
    assert all(t.strftime("%H:%M") == "02:30" for t in fired if f"{t:%Y-%m-%d}" not in local_time)
