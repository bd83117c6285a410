"""Property tests: Schedule.next_after against brute-force oracles written here.

The oracles know nothing about the implementation. They step minute by minute
(jumping over whole days whose date cannot match, which is only a shortcut: every
minute of such a day fails the same date test) and return the first minute that
matches, or None if it lies beyond HORIZON.

* Field sets: UTC; the finest field given sets the step, finer fields are pinned to
  their first value, fields combine with AND, day of week 0 = Monday.
* Field sets against the original: lovely.remotetask 0.5.2's `timeOfNextCall`, retold
  (`original_next_call`): it steps from `now` by the unit of the finest field given and
  tests the fields after each step, and checks `next <= now + 365 days` before a step,
  so it still tests the step that crosses that line. From a `now` on its step grid,
  every time it finds must be ours too; where it finds none, ours lies beyond its reach.
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

import calendar
import math
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
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


# -- the original's rule ----------------------------------------------------------------

HOUR = 60 * 60
ORIGINAL_REACH = 365 * DAY
"""The original tested a step only while the previous one was within this of `now`."""
THIRTY_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def leap(year: int) -> bool:
    """The Gregorian rule, spelled out as the original did it."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def month_length(t: int) -> int:
    """Seconds in the UTC month containing t: the original's step for month-only schedules."""
    year, month = time.gmtime(t)[:2]
    days = 29 if month == 2 and leap(year) else THIRTY_DAYS[month - 1]
    return days * DAY


def original_step(s: Schedule) -> Callable[[int], int]:
    """The unit of the finest field given, in the original's order of looking."""
    if s.minute or not (s.hour or s.day_of_month or s.day_of_week or s.month):
        return lambda t: 60
    if s.hour:
        return lambda t: HOUR
    if s.day_of_month or s.day_of_week:
        return lambda t: DAY
    return month_length


def original_next_call(s: Schedule, now: int) -> int | None:
    """The original's timeOfNextCall for field sets, in our words.

    One shortcut keeps it fast without changing an answer: when a minute or hour
    step lands on a day (or a minute step on an hour) whose date (or hour) fails,
    every step left in that day (hour) fails the same test, so it goes straight to
    the step before the next day (hour). The `<= reach` check before that step is
    the one the original would have made, since every skipped step was earlier.
    """
    step = original_step(s)
    reach = now + ORIGINAL_REACH
    t = now
    while t <= reach:
        t += step(t)
        when = time.gmtime(t)
        if (
            (s.month and when.tm_mon not in s.month)
            or (s.day_of_month and when.tm_mday not in s.day_of_month)
            or (s.day_of_week and when.tm_wday not in s.day_of_week)
        ):
            if step(t) < DAY:
                t = (t // DAY + 1) * DAY - step(t)
            continue
        if s.hour and when.tm_hour not in s.hour:
            if step(t) < HOUR:
                t = (t // HOUR + 1) * HOUR - step(t)
            continue
        if s.minute and when.tm_min not in s.minute:
            continue
        return t
    return None


def on_grid(s: Schedule, moment: int) -> int:
    """The last point of the original's step grid at or before moment.

    The original stepped from `now` as it was, so from 00:00:30 it fired at hh:mm:30;
    remotetask runs at second 0 (and at 00:00 on the 1st for month-only schedules), so
    the two are compared from moments where that makes no difference.
    """
    unit = original_step(s)(moment)
    if unit == month_length(moment):
        year, month = time.gmtime(moment)[:2]
        return calendar.timegm((year, month, 1, 0, 0, 0))
    return moment // unit * unit


def test_the_port_gives_the_seed_examples() -> None:
    """The port itself checked against the seed's own examples (delays aside)."""
    from tests.unit.test_schedule import SEED_EXAMPLES

    for fields, now, expected in SEED_EXAMPLES:
        if "delay" not in fields:
            found = original_next_call(Schedule(**fields), int(now))
            assert found is not None
            assert tuple(time.gmtime(found)) == expected


years_across_leap_days = st.integers(  # 1970 to 2150: leap years, 2000 (leap), 2100 (not)
    0, calendar.timegm((2150, 12, 31, 0, 0, 0))
)


rare_months = st.one_of(field_set(1, 12, 1), field_set(1, 12, 3))  # one month: yearly
original_schedules = st.builds(
    Schedule,
    minute=field_set(0, 59, 4),
    hour=field_set(0, 23, 3),
    day_of_month=st.one_of(field_set(1, 31, 3), field_set(28, 31, 2)),
    month=rare_months,
    day_of_week=field_set(0, 6, 3),
)


@BOUNDED
@given(schedule=original_schedules, moment=years_across_leap_days)
def test_field_sets_find_what_the_original_found(schedule: Schedule, moment: int) -> None:
    """From a moment, then from the time found (as after a firing): the same answers."""
    now: int | None = on_grid(schedule, moment)
    for _ in range(2):
        assert now is not None
        original = original_next_call(schedule, now)
        ours = schedule.next_after(now)
        note(f"now {time.gmtime(now)[:6]}, original {original}, ours {ours}")
        if original is None:
            event("the original found none" if ours is None else "found beyond the original")
            assert ours is None or ours > now + ORIGINAL_REACH
            return
        event(
            "the original found a time"
            + (" over 365 days ahead" if original - now > ORIGINAL_REACH else "")
        )
        assert ours == original
        now = original


def yearly_fields(month: int, day: int, hour: int, minute: int, given: int) -> dict[str, Any]:
    """A date once a year, given down to the month (the 1st), day, hour or minute."""
    names = ("month", "day_of_month", "hour", "minute")[: given + 1]
    values = (month, day, hour, minute)[: given + 1]
    return {name: (value,) for name, value in zip(names, values, strict=True)}


yearly = st.builds(
    yearly_fields,
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 3),
)


@BOUNDED
@given(fields=yearly, year=st.integers(1970, 2140))
def test_yearly_field_sets_fire_every_year_across_leap_days(
    fields: dict[str, tuple[int, ...]], year: int
) -> None:
    """Nine years from New Year's Eve; a processing pass runs a moment after each firing."""
    schedule = Schedule(**fields)
    day = fields.get("day_of_month", (1,))[0]
    hour, minute = fields.get("hour", (0,))[0], fields.get("minute", (0,))[0]
    expected = [(y, fields["month"][0], day, hour, minute) for y in range(year, year + 9)]
    when: float | None = calendar.timegm((year - 1, 12, 31, 0, 0, 0))
    fired = []
    for _ in expected:
        assert when is not None
        when = schedule.next_after(when + 0.25)
        fired.append(None if when is None else time.gmtime(when)[:5])
    assert fired == expected
    if not (fields.keys() & {"hour", "minute"}):  # a day or month step: the original too
        times = [calendar.timegm((*row, 0)) for row in expected]
        assert [original_next_call(schedule, t) for t in times[:-1]] == times[1:]


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
