"""Property tests: Schedule.next_after against brute-force oracles written here.

The oracles know nothing about the implementation. They step minute by minute
(jumping over whole days whose date cannot match, which is only a shortcut: every
minute of such a day fails the same date test) and return the first minute that
matches, or None if it lies beyond HORIZON.

* Field sets: UTC; the finest field given sets the step, finer fields are pinned to
  their first value, fields combine with AND, day of week 0 = Monday.
* Crontab in UTC: a small matcher for `*`, numbers, ranges, steps and lists, with
  cron's day rule (day of month OR day of week when both are restricted, AND when
  either starts with `*`) and 0 or 7 = Sunday.
* Crontab in a DST zone (minute and hour fields only): the oracle walks real time and
  matches the local wall clock, so times in a spring-forward gap never happen and
  times in the repeated fall-back hour happen twice. cronsim does exactly that unless
  neither field starts with `*` (a fixed local time), where it follows Debian cron
  instead (gap: run at the end of the gap; repeat: first pass only). For those
  expressions, cases whose window (an hour before now up to the later answer) crosses
  a transition are not compared; they are checked against that rule instead, and
  pinned in test_schedule.py.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from remotetask.errors import InvalidScheduleError
from remotetask.schedule import HORIZON, Schedule

if TYPE_CHECKING:
    from collections.abc import Callable

DAY = 24 * 60 * 60
BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CRON_RANGES = {"minute": (0, 59), "hour": (0, 23), "dom": (1, 31), "month": (1, 12), "dow": (0, 7)}
TRANSITIONS = [  # (zone, UTC instant of its 2026 switch)
    ("Europe/Berlin", datetime(2026, 3, 29, 1, tzinfo=UTC)),  # spring forward
    ("Europe/Berlin", datetime(2026, 10, 25, 1, tzinfo=UTC)),  # fall back
    ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),  # spring forward
    ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),  # fall back
]


def first_minute_after(now: float) -> int:
    """Second 0 of the first minute strictly after now, found by plain stepping."""
    t = math.floor(now / 60) * 60
    while t <= now:
        t += 60
    return t


def brute_force(
    now: float,
    day_ok: Callable[[date], bool],
    time_ok: Callable[[datetime], bool],
    zone: ZoneInfo | None = None,
) -> float | None:
    """Step minute by minute for 366 days; the first match counts if within HORIZON."""
    t = first_minute_after(now)
    end = now + 366 * DAY
    while t <= end:
        wall = datetime.fromtimestamp(t, zone or UTC)
        if zone is None and not day_ok(wall.date()):
            t = int(
                datetime.combine(
                    wall.date() + timedelta(days=1), datetime.min.time(), UTC
                ).timestamp()
            )
            continue
        if day_ok(wall.date()) and time_ok(wall):
            return float(t) if t <= now + HORIZON else None
        t += 60
    return None


# -- field sets ------------------------------------------------------------------------


def fields_oracle(s: Schedule, now: float) -> float | None:
    """The original's rule, written as a predicate on one UTC minute."""
    finest = next(
        (
            i
            for i, given in enumerate((s.minute, s.hour, s.day_of_month or s.day_of_week, s.month))
            if given
        ),
        0,
    )

    def day_ok(d: date) -> bool:
        if s.month and d.month not in s.month:
            return False
        if s.day_of_month and d.day not in s.day_of_month:
            return False
        if not s.day_of_month and finest == 3 and d.day != 1:
            return False
        return not s.day_of_week or d.weekday() in s.day_of_week

    def time_ok(wall: datetime) -> bool:
        minute_ok = wall.minute in s.minute if s.minute else (finest == 0 or wall.minute == 0)
        hour_ok = wall.hour in s.hour if s.hour else (finest <= 1 or wall.hour == 0)
        return minute_ok and hour_ok

    return brute_force(now, day_ok, time_ok)


def field_set(low: int, high: int, size: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.one_of(
        st.just(()), st.lists(st.integers(low, high), min_size=1, max_size=size).map(tuple)
    )


schedules = st.builds(
    Schedule,
    minute=field_set(0, 59, 4),
    hour=field_set(0, 23, 3),
    day_of_month=st.one_of(field_set(1, 31, 3), field_set(28, 31, 2)),  # month ends
    month=field_set(1, 12, 3),
    day_of_week=field_set(0, 6, 3),
)
moments = st.builds(
    lambda base, fraction: base + fraction,
    st.one_of(st.integers(0, 4_102_444_800), st.integers(0, 68_000_000).map(lambda m: m * 60)),
    st.sampled_from([0.0, 0.25, 0.999]),
)


@BOUNDED
@given(schedule=schedules, now=moments)
def test_field_sets_match_the_oracle(schedule: Schedule, now: float) -> None:
    expected = fields_oracle(schedule, now)
    event("no next time" if expected is None else "next time found")
    assert schedule.next_after(now) == expected
    if expected is not None:
        assert expected > now
        assert expected % 60 == 0


# -- crontab expressions -----------------------------------------------------------------


def parse_field(text: str, low: int, high: int) -> set[int]:
    """Vixie-cron field syntax restricted to `*`, N, N-M, */S, N-M/S and lists."""
    values: set[int] = set()
    for term in text.split(","):
        base, _, step = term.partition("/")
        start, end = (
            (low, high) if base == "*" else (int(base.split("-")[0]), int(base.split("-")[-1]))
        )
        values.update(range(start, end + 1, int(step or 1)))
    return values


def cron_oracle(expr: str, now: float, zone: ZoneInfo | None = None) -> float | None:
    minute, hour, dom, month, dow = expr.split()
    minutes = parse_field(minute, *CRON_RANGES["minute"])
    hours = parse_field(hour, *CRON_RANGES["hour"])
    days = parse_field(dom, *CRON_RANGES["dom"])
    months = parse_field(month, *CRON_RANGES["month"])
    weekdays = {d % 7 for d in parse_field(dow, *CRON_RANGES["dow"])}  # 0 and 7 = Sunday
    either = not (dom.startswith("*") or dow.startswith("*"))

    def day_ok(d: date) -> bool:
        dom_ok, dow_ok = d.day in days, (d.weekday() + 1) % 7 in weekdays
        return d.month in months and ((dom_ok or dow_ok) if either else (dom_ok and dow_ok))

    return brute_force(now, day_ok, lambda w: w.minute in minutes and w.hour in hours, zone)


def cron_field(name: str, star_weight: int = 2) -> st.SearchStrategy[str]:
    low, high = CRON_RANGES[name]
    number = st.integers(low, high).map(str)
    span = st.tuples(st.integers(low, high), st.integers(low, high)).map(
        lambda p: f"{min(p)}-{max(p)}"
    )
    # a stepped span needs two distinct ends: cronsim reads `N-N/S` as `N/S` (N to the end)
    proper = st.tuples(st.integers(low, high - 1), st.integers(1, high - low)).map(
        lambda p: f"{p[0]}-{min(p[0] + p[1], high)}"
    )
    stepped = st.tuples(proper, st.integers(1, 7)).map(lambda p: f"{p[0]}/{p[1]}")
    term = st.one_of(number, span, stepped)
    stars = [st.just("*"), st.integers(2, 15).map(lambda s: f"*/{s}")] * star_weight
    return st.one_of(*stars, st.lists(term, min_size=1, max_size=3).map(",".join))


cron_expressions = st.builds(
    " ".join,
    st.tuples(*(cron_field(name) for name in ("minute", "hour", "dom", "month", "dow"))),
)


@BOUNDED
@given(expr=cron_expressions, now=moments)
def test_crontab_in_utc_matches_the_oracle(expr: str, now: float) -> None:
    expected = cron_oracle(expr, now)
    note(f"oracle: {expected}")
    try:
        schedule = Schedule(cron=expr)
    except InvalidScheduleError:
        # cronsim refuses day-of-month sets no listed month can hold; so must the oracle
        assert expected is None
        return
    assert schedule.next_after(now) == expected


@BOUNDED
@given(
    transition=st.sampled_from(TRANSITIONS),
    shift=st.one_of(st.integers(-DAY, DAY), st.integers(-200 * DAY, 200 * DAY)),
    minute=st.one_of(cron_field("minute", star_weight=1), st.integers(0, 59).map(str)),
    hour=st.one_of(cron_field("hour", star_weight=1), st.integers(0, 4).map(str)),  # DST hours
)
def test_crontab_in_a_dst_zone_matches_the_wall_clock_oracle(
    transition: tuple[str, datetime], shift: int, minute: str, hour: str
) -> None:
    zone_name, switch = transition
    now = switch.timestamp() + shift
    zone = ZoneInfo(zone_name)
    expr = f"{minute} {hour} * * *"
    got = Schedule(cron=expr, timezone=zone_name).next_after(now)
    expected = cron_oracle(expr, now, zone)
    note(f"got {got}, oracle {expected}")
    assert got is not None
    assert expected is not None
    fixed_time = not (minute.startswith("*") or hour.startswith("*"))
    if not (fixed_time and offset(now - 3600, zone) != offset(max(got, expected), zone)):
        event("compared with the oracle")
        assert got == expected
        return
    event("checked against the Debian rule")
    # Debian rule: a wall-clock match or the end of a gap, never in the second pass
    wall = datetime.fromtimestamp(got, zone)
    end_of_gap = offset(got, zone) > offset(got - 1, zone)
    assert got > now
    assert wall.fold == 0
    assert end_of_gap or (
        wall.minute in parse_field(minute, 0, 59) and wall.hour in parse_field(hour, 0, 23)
    )


def offset(t: float, zone: ZoneInfo) -> timedelta:
    return datetime.fromtimestamp(t, zone).utcoffset() or timedelta(0)


# -- robustness ------------------------------------------------------------------------


@BOUNDED
@given(text=st.text(alphabet="0123456789*/-,LW#? MONSUNJAN", max_size=24), now=moments)
def test_any_cron_text_is_accepted_or_refused_cleanly(text: str, now: float) -> None:
    try:
        schedule = Schedule(cron=text)
    except InvalidScheduleError as exc:
        refusal = str(exc)
    else:
        got = schedule.next_after(now)
        assert got is None or now < got <= now + HORIZON
        assert schedule.describe().endswith("(UTC)")
        return
    assert refusal.startswith(("crontab expression", "invalid crontab expression"))
