"""Schedule: the seed's cron examples to the second, edge cases, DST, JSON, validation."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from remotetask.errors import InvalidScheduleError
from remotetask.schedule import FIELD_SETS, HORIZON, Schedule, field_text, parse_field

DAY = 24 * 60 * 60
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a UTC wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def gm(when: float | None) -> tuple[int, ...]:
    """The seed prints times as time.gmtime tuples; compare in the same shape."""
    assert when is not None
    return tuple(time.gmtime(when))


def local(when: float | None, zone: ZoneInfo) -> str:
    """A local time with its offset, so a DST test says which side of the switch it is."""
    assert when is not None
    return datetime.fromtimestamp(when, zone).isoformat()


# -- the seed's "Cron jobs" section, every example --------------------------------

SEED_EXAMPLES: list[tuple[dict[str, Any], float, tuple[int, ...]]] = [
    ({"minute": (0, 10)}, 0, (1970, 1, 1, 0, 10, 0, 3, 1, 0)),
    ({"minute": (0, 10)}, 10 * 60, (1970, 1, 1, 1, 0, 0, 3, 1, 0)),
    ({"hour": (2, 13)}, 0, (1970, 1, 1, 2, 0, 0, 3, 1, 0)),
    ({"hour": (2, 13)}, 2 * 60 * 60, (1970, 1, 1, 13, 0, 0, 3, 1, 0)),
    ({"month": (1, 5, 12)}, 0, (1970, 5, 1, 0, 0, 0, 4, 121, 0)),
    ({"day_of_week": (0, 2, 4, 5)}, 0, (1970, 1, 2, 0, 0, 0, 4, 2, 0)),
    ({"day_of_week": (0, 2, 4, 5)}, DAY, (1970, 1, 3, 0, 0, 0, 5, 3, 0)),
    ({"day_of_week": (0, 2, 4, 5)}, 2 * DAY, (1970, 1, 5, 0, 0, 0, 0, 5, 0)),
    ({"day_of_week": (0, 2, 4, 5)}, 4 * DAY, (1970, 1, 7, 0, 0, 0, 2, 7, 0)),
    ({"day_of_month": (1, 12, 21, 30)}, 0, (1970, 1, 12, 0, 0, 0, 0, 12, 0)),
    ({"day_of_month": (1, 12, 21, 30)}, 12 * DAY, (1970, 1, 21, 0, 0, 0, 2, 21, 0)),
    ({"minute": (10,), "day_of_month": (1, 12, 21, 30)}, 0, (1970, 1, 1, 0, 10, 0, 3, 1, 0)),
    ({"minute": (10,), "day_of_month": (1, 12, 21, 30)}, 600, (1970, 1, 1, 1, 10, 0, 3, 1, 0)),
    (
        {"minute": (10,), "hour": (4,), "day_of_month": (1, 12, 21, 30)},
        0,
        (1970, 1, 1, 4, 10, 0, 3, 1, 0),
    ),
    (
        {"minute": (10,), "hour": (4,), "day_of_month": (1, 12, 21, 30)},
        600,
        (1970, 1, 1, 4, 10, 0, 3, 1, 0),
    ),
    ({"delay": 10}, 0, (1970, 1, 1, 0, 0, 10, 3, 1, 0)),
    ({"delay": 10}, 1, (1970, 1, 1, 0, 0, 11, 3, 1, 0)),
]


@pytest.mark.parametrize(("fields", "now", "expected"), SEED_EXAMPLES)
def test_seed_cron_examples(fields: dict[str, Any], now: float, expected: tuple[int, ...]) -> None:
    assert gm(Schedule(**fields).next_after(now)) == expected


def test_seed_month_example_chained() -> None:
    schedule = Schedule(month=(1, 5, 12))
    first = schedule.next_after(0)
    assert first is not None
    assert gm(schedule.next_after(first)) == (1970, 12, 1, 0, 0, 0, 1, 335, 0)


def test_seed_delayed_and_counter_walkthrough() -> None:
    """The seed's service walkthrough, seen from the schedule's side."""
    delayed = Schedule(delay=10)
    assert delayed.next_after(0) == 10.0  # not due at 0 or 9, due at 10
    counter = Schedule(minute=(10, 13))
    assert counter.next_after(0) == 10 * 60
    assert counter.next_after(10 * 60) == 13 * 60  # nothing at 11 minutes
    rescheduled = Schedule(minute=(11, 13))  # update + reschedule, next pass at 70 minutes
    assert rescheduled.next_after(10 * 60 + 60 * 60) == 11 * 60 + 60 * 60


# -- field-set semantics beyond the seed ---------------------------------------------


def test_empty_field_sets_fire_every_minute() -> None:
    schedule = Schedule()
    assert schedule.next_after(0) == 60.0
    assert schedule.next_after(59.9) == 60.0
    assert schedule.describe() == "every minute"
    assert not schedule.is_delay


def test_next_is_strictly_after_now_and_at_second_zero() -> None:
    schedule = Schedule(minute=(10,))
    assert schedule.next_after(600) == 600 + 3600  # exactly on a match: the next one
    assert schedule.next_after(599.999) == 600.0
    assert schedule.next_after(600.5) == 600 + 3600  # seconds of now count
    assert schedule.next_after(630) == 600 + 3600


def test_finer_fields_pinned_coarser_fields_free() -> None:
    # hour given: minute pinned to 0; day free
    assert Schedule(hour=(5,)).next_after(utc(2026, 1, 1, 5, 0)) == utc(2026, 1, 2, 5, 0)
    # day of week given: 00:00 only
    assert Schedule(day_of_week=(3,)).next_after(utc(2026, 1, 1, 0, 0)) == utc(2026, 1, 8)
    # minute given: hour and day free
    assert Schedule(minute=(59,), month=(3,)).next_after(utc(2026, 1, 1)) == utc(2026, 3, 1, 0, 59)


def test_fields_combine_with_and() -> None:
    # Friday the 13th: 2026-02-13 and 2026-03-13 are Fridays
    schedule = Schedule(day_of_month=(13,), day_of_week=(4,))
    assert schedule.next_after(utc(2026, 1, 1)) == utc(2026, 2, 13)
    assert schedule.next_after(utc(2026, 2, 13)) == utc(2026, 3, 13)
    # month AND day of week: first Monday in May 2026 is the 4th
    assert Schedule(month=(5,), day_of_week=(0,)).next_after(utc(2026, 1, 1)) == utc(2026, 5, 4)


def test_day_of_week_counts_from_monday_for_field_sets() -> None:
    # 2026-01-04 is a Sunday, 2026-01-05 a Monday
    assert Schedule(day_of_week=(0,)).next_after(utc(2026, 1, 3)) == utc(2026, 1, 5)
    assert Schedule(day_of_week=(6,)).next_after(utc(2026, 1, 3)) == utc(2026, 1, 4)


def test_day_of_week_counts_from_sunday_for_crontab() -> None:
    assert Schedule(cron="0 0 * * 0").next_after(utc(2026, 1, 3)) == utc(2026, 1, 4)
    assert Schedule(cron="0 0 * * 7").next_after(utc(2026, 1, 3)) == utc(2026, 1, 4)
    assert Schedule(cron="0 0 * * 1").next_after(utc(2026, 1, 3)) == utc(2026, 1, 5)


def test_yearly_schedules_keep_firing_across_leap_days() -> None:
    """Issue 11: the search reached exactly 365 days, so these stopped for good."""
    new_year = Schedule(month=(1,))
    assert new_year.next_after(utc(2027, 1, 1, 0, 0, 1)) == utc(2028, 1, 1)  # 365 days
    assert new_year.next_after(utc(2028, 1, 1, 0, 0, 1)) == utc(2029, 1, 1)  # 366 days
    march = Schedule(month=(3,), day_of_month=(1,))
    fired, when = [], utc(2026, 12, 31)
    for _ in range(8):
        nxt = march.next_after(when)
        assert nxt is not None
        fired.append(datetime.fromtimestamp(nxt, UTC).date().isoformat())
        when = nxt + 0.5
    assert fired == [f"{year}-03-01" for year in range(2027, 2035)]
    # given to the minute, where the original stepped by minutes and reached 365 days
    # and one minute only: remotetask finds it all the same (docs/guide.md, differences)
    exact = Schedule(minute=(0,), hour=(0,), day_of_month=(1,), month=(3,))
    assert exact.next_after(utc(2027, 3, 1, 0, 0, 1)) == utc(2028, 3, 1)


def test_feb_29_is_found_within_the_horizon_only() -> None:
    leap_day = Schedule(month=(2,), day_of_month=(29,))
    assert leap_day.next_after(utc(2027, 2, 28)) == utc(2028, 2, 29)  # exactly 366 days
    assert leap_day.next_after(utc(2027, 2, 27, 23, 59)) is None  # 366 days + 1 minute away
    assert leap_day.next_after(utc(2028, 1, 1)) == utc(2028, 2, 29)
    assert leap_day.next_after(utc(2028, 2, 29)) is None  # four years: use cron="0 0 29 2 *"


def test_horizon_is_inclusive_to_the_second() -> None:
    leap_day = Schedule(month=(2,), day_of_month=(29,))
    now = utc(2027, 2, 28)
    assert HORIZON == 366 * DAY
    assert leap_day.next_after(now) == now + HORIZON
    assert leap_day.next_after(now - 1) is None  # HORIZON + 1 s away
    assert leap_day.next_after(now - 0.5) is None  # HORIZON + 0.5 s away
    assert Schedule(cron="0 0 29 2 *").next_after(now) == now + HORIZON
    assert Schedule(cron="0 0 29 2 *").next_after(now - 1) is None
    assert Schedule(cron="0 0 1 3 *").next_after(utc(2027, 3, 1)) == utc(2028, 3, 1)


def test_31st_skips_short_months() -> None:
    schedule = Schedule(day_of_month=(31,))
    assert schedule.next_after(utc(2026, 4, 1)) == utc(2026, 5, 31)
    assert schedule.next_after(utc(2026, 5, 31)) == utc(2026, 7, 31)
    assert schedule.next_after(utc(2026, 7, 31)) == utc(2026, 8, 31)


def test_impossible_day_has_no_next_time() -> None:
    assert Schedule(day_of_month=(30,), month=(2,)).next_after(0) is None
    assert Schedule(day_of_month=(31,), month=(4, 6, 9, 11)).next_after(0) is None


def test_month_finest_pins_day_to_first() -> None:
    schedule = Schedule(month=(2,))
    assert schedule.next_after(utc(2026, 2, 1)) == utc(2027, 2, 1)
    assert schedule.next_after(utc(2026, 1, 31, 23, 59, 59)) == utc(2026, 2, 1)


def test_next_after_is_fast() -> None:
    rare = Schedule(minute=(59,), hour=(23,), day_of_month=(31,), month=(12,), day_of_week=(6,))
    started = time.perf_counter()
    for year in range(2000, 2040):
        rare.next_after(utc(year, 1, 1))
    assert time.perf_counter() - started < 1.0  # 40 sparse searches over a year each


# -- delay -------------------------------------------------------------------------


def test_delay_is_relative_to_now() -> None:
    schedule = Schedule(delay=2.5)
    assert schedule.is_delay
    assert schedule.next_after(100.25) == 102.75
    assert Schedule(delay=0).next_after(7) == 60  # 0 is no delay: every minute, as the original
    assert Schedule(delay=10).delay == 10.0
    assert isinstance(Schedule(delay=10).delay, float)


# -- crontab expressions -------------------------------------------------------------


def test_cron_strictly_after_an_exact_match() -> None:
    schedule = Schedule(cron="10 * * * *")
    assert schedule.next_after(600) == 600 + 3600
    assert schedule.next_after(599.5) == 600.0
    assert schedule.next_after(600.5) == 600 + 3600


def test_cron_every_five_minutes() -> None:
    schedule = Schedule(cron="*/5 * * * *")
    assert schedule.next_after(utc(2026, 1, 1, 0, 3, 17)) == utc(2026, 1, 1, 0, 5)


def test_cron_nothing_within_horizon_is_none() -> None:
    leap_day = Schedule(cron="0 0 29 2 *")
    assert leap_day.next_after(utc(2026, 3, 1)) is None
    assert leap_day.next_after(utc(2027, 2, 28)) == utc(2028, 2, 29)


def test_cron_in_a_timezone() -> None:
    schedule = Schedule(cron="0 9 * * *", timezone="Europe/Berlin")
    assert local(schedule.next_after(utc(2026, 1, 10)), BERLIN) == "2026-01-10T09:00:00+01:00"
    assert local(schedule.next_after(utc(2026, 7, 10)), BERLIN) == "2026-07-10T09:00:00+02:00"
    assert Schedule(cron="0 9 * * *", timezone="Etc/UTC").next_after(0) == 9 * 3600


def test_cron_expression_is_normalised() -> None:
    assert Schedule(cron="  */5   *  * * *\n").cron == "*/5 * * * *"


# -- DST policy (cronsim follows Debian cron) ------------------------------------------


def runs(schedule: Schedule, start: float, until: float, zone: ZoneInfo) -> list[str]:
    """Every run in (start, until], as local ISO times."""
    out: list[str] = []
    now = schedule.next_after(start)
    while now is not None and now <= until:
        out.append(local(now, zone))
        now = schedule.next_after(now)
    return out


def test_berlin_spring_forward_fixed_time_runs_once_after_the_gap() -> None:
    schedule = Schedule(cron="30 2 * * *", timezone="Europe/Berlin")
    assert runs(schedule, utc(2026, 3, 27, 12), utc(2026, 3, 30, 12), BERLIN) == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist: first minute after the gap
        "2026-03-30T02:30:00+02:00",
    ]


def test_new_york_spring_forward_fixed_time_runs_once_after_the_gap() -> None:
    schedule = Schedule(cron="15 2 * * *", timezone="America/New_York")
    assert runs(schedule, utc(2026, 3, 7, 12), utc(2026, 3, 9, 12), NEW_YORK) == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:15:00-04:00",
    ]


def test_berlin_fall_back_fixed_time_runs_once_first_occurrence() -> None:
    schedule = Schedule(cron="30 2 * * *", timezone="Europe/Berlin")
    assert runs(schedule, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12), BERLIN) == [
        "2026-10-25T02:30:00+02:00",  # the first 02:30 (CEST); the second one is skipped
        "2026-10-26T02:30:00+01:00",
    ]


def test_fall_back_from_inside_the_second_occurrence_never_goes_backwards() -> None:
    """cronsim maps 02:50 to its first pass, which is before now; we skip it."""
    schedule = Schedule(cron="50 2 * * *", timezone="Europe/Berlin")
    now = datetime(2026, 10, 25, 2, 40, tzinfo=BERLIN, fold=1).timestamp()  # 02:40 CET
    assert local(schedule.next_after(now), BERLIN) == "2026-10-26T02:50:00+01:00"


def test_new_york_fall_back_fixed_time_runs_once_first_occurrence() -> None:
    schedule = Schedule(cron="30 1 * * *", timezone="America/New_York")
    assert runs(schedule, utc(2026, 10, 31, 12), utc(2026, 11, 2, 12), NEW_YORK) == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_berlin_sub_hourly_follows_the_wall_clock() -> None:
    schedule = Schedule(cron="*/30 * * * *", timezone="Europe/Berlin")
    spring = runs(schedule, utc(2026, 3, 29, 0, 15), utc(2026, 3, 29, 1, 30), BERLIN)
    assert spring == [
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:30:00+02:00",
    ]
    autumn = runs(schedule, utc(2026, 10, 24, 23, 45), utc(2026, 10, 25, 2, 0), BERLIN)
    assert autumn == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",  # the repeated hour runs again
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


def test_new_york_hourly_follows_the_wall_clock() -> None:
    schedule = Schedule(cron="0 * * * *", timezone="America/New_York")
    spring = runs(schedule, utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 8, 0), NEW_YORK)
    assert spring == [
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
    ]
    autumn = runs(schedule, utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 7, 0), NEW_YORK)
    assert autumn == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
    ]


def test_sub_hourly_inside_the_gap_is_skipped_without_make_up_run() -> None:
    schedule = Schedule(cron="15 * * * *", timezone="Europe/Berlin")
    assert runs(schedule, utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 15), BERLIN) == [
        "2026-03-29T01:15:00+01:00",
        "2026-03-29T03:15:00+02:00",
    ]


# -- describe ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (Schedule(minute=(10, 13)), "at minute 10, 13 of every hour"),
        (Schedule(hour=(2, 13)), "at 02:00, 13:00 every day (UTC)"),
        (Schedule(month=(1, 5, 12)), "at 00:00 on the 1st of January, May, December (UTC)"),
        (Schedule(day_of_week=(0, 6)), "at 00:00 on Monday, Sunday (UTC)"),
        (Schedule(day_of_month=(1, 30)), "at 00:00 on day 1, 30 of the month (UTC)"),
        (
            Schedule(minute=(10,), hour=(4,), day_of_month=(13,), day_of_week=(4,)),
            "at 04:10 on day 13 of the month if it is a Friday (UTC)",
        ),
        (Schedule(delay=10), "once, 10 s after it is scheduled"),
        (Schedule(delay=0.5), "once, 0.5 s after it is scheduled"),
        (
            Schedule(cron="*/5 * * * *", timezone="Europe/Berlin"),
            "every fifth minute of every hour (Europe/Berlin)",
        ),
        (Schedule(cron="0 2 * * *"), "at 02:00 every day (UTC)"),
    ],
)
def test_describe(schedule: Schedule, words: str) -> None:
    assert schedule.describe() == words


# -- normalisation, JSON ------------------------------------------------------------


def test_fields_are_normalised_to_sorted_unique_tuples() -> None:
    schedule = Schedule(minute=[13, 10, 13], hour=range(3), day_of_week={5, 1})  # type: ignore[arg-type]
    assert schedule.minute == (10, 13)
    assert schedule.hour == (0, 1, 2)
    assert schedule.day_of_week == (1, 5)
    assert schedule == Schedule(minute=(10, 13), hour=(0, 1, 2), day_of_week=(1, 5))
    assert hash(schedule) == hash(Schedule(minute=(10, 13), hour=(0, 1, 2), day_of_week=(1, 5)))


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule(),
        Schedule(
            minute=(0, 10), hour=(4,), day_of_month=(1, 31), month=(2, 12), day_of_week=(0, 6)
        ),
        Schedule(delay=10),
        Schedule(delay=0.25),
        Schedule(cron="*/5 * * * *", timezone="Europe/Berlin"),
    ],
)
def test_json_round_trip(schedule: Schedule) -> None:
    data = json.loads(json.dumps(schedule.to_json()))
    assert Schedule.from_json(data) == schedule
    assert set(data) == {
        "minute",
        "hour",
        "day_of_month",
        "month",
        "day_of_week",
        "delay",
        "cron",
        "timezone",
    }


def test_from_json_fills_defaults() -> None:
    assert Schedule.from_json({"minute": [5]}) == Schedule(minute=(5,))
    assert Schedule.from_json({"cron": "0 0 * * *"}).timezone == "UTC"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"minutes": [1]}, "unknown schedule fields: minutes"),
        ({"minute": "5"}, "minute must be a list"),
        ({"minute": [5.0]}, "minute values must be integers"),
        ([("minute", [5])], "must be a JSON object"),
    ],
)
def test_from_json_rejects(data: Any, message: str) -> None:
    with pytest.raises(InvalidScheduleError, match=message):
        Schedule.from_json(data)


# -- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"minute": (60,)}, r"minute values must be within 0-59, got 60"),
        ({"minute": (-1,)}, r"minute values must be within 0-59, got -1"),
        ({"hour": (24,)}, r"hour values must be within 0-23"),
        ({"day_of_month": (0,)}, r"day_of_month values must be within 1-31"),
        ({"day_of_month": (32,)}, r"day_of_month values must be within 1-31"),
        ({"month": (13,)}, r"month values must be within 1-12"),
        ({"month": (0,)}, r"month values must be within 1-12"),
        ({"day_of_week": (7,)}, r"day_of_week values must be within 0-6 \(0 = Monday"),
        ({"minute": (True,)}, r"minute values must be integers, got True"),
        ({"hour": ("1",)}, r"hour values must be integers, got '1'"),
        ({"hour": (1.0,)}, r"hour values must be integers, got 1.0"),
        ({"minute": 5}, r"minute must be a list or tuple of integers, got 5"),
        ({"minute": "10"}, r"minute must be a list or tuple"),
        ({"delay": -1}, r"delay must be a finite number >= 0, got -1"),
        ({"delay": float("nan")}, r"delay must be a finite number"),
        ({"delay": float("inf")}, r"delay must be a finite number"),
        ({"delay": True}, r"delay must be a number of seconds"),
        ({"delay": "10"}, r"delay must be a number of seconds"),
        ({"delay": 10, "minute": (1,)}, r"a delayed job cannot also have field sets"),
        ({"cron": "* * * * *", "minute": (1,)}, r"cannot be combined with field sets or a delay"),
        ({"cron": "* * * * *", "delay": 5}, r"cannot be combined with field sets or a delay"),
        ({"cron": "61 * * * *"}, r"invalid crontab expression '61 \* \* \* \*': Bad minute"),
        ({"cron": "* * * *"}, r"must have 5 fields .* got 4"),
        ({"cron": "0 * * * * *"}, r"must have 5 fields .* got 6"),
        ({"cron": ""}, r"must have 5 fields"),
        ({"cron": "0 0 30 2 *"}, r"invalid crontab expression .*day-of-month"),
        ({"cron": "0 0 * * 8"}, r"invalid crontab expression .*day-of-week"),
        ({"cron": "a b c d e"}, r"invalid crontab expression"),
        ({"cron": 5}, r"cron must be a string"),
        ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, r"unknown timezone 'Mars/Olympus'"),
        ({"cron": "* * * * *", "timezone": "../etc/passwd"}, r"unknown timezone"),
        ({"cron": "* * * * *", "timezone": ""}, r"unknown timezone"),
        ({"cron": "* * * * *", "timezone": None}, r"timezone must be a string"),
        ({"hour": (2,), "timezone": "Europe/Berlin"}, r"applies only to crontab expressions"),
        ({"delay": 5, "timezone": "Europe/Berlin"}, r"applies only to crontab expressions"),
    ],
)
def test_invalid_schedules(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidScheduleError, match=message):
        Schedule(**fields)


def test_invalid_schedule_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="minute"):
        Schedule(minute=(99,))


def test_impossible_but_well_formed_field_sets_are_accepted() -> None:
    """As in the original: Feb 30 is not an error, it simply never comes."""
    schedule = Schedule(day_of_month=(30,), month=(2,))
    assert schedule.day_of_month == (30,)
    assert schedule.next_after(utc(2026, 1, 1)) is None


# -- field sets as typed: the original form's rules --------------------------------


def test_a_star_is_every_value_of_its_field() -> None:
    """Issue 11: minute * with hour 2 runs every minute from 02:00 to 02:59, as the form did."""
    schedule = Schedule(minute=parse_field("minute", "*"), hour=parse_field("hour", "2"))
    assert schedule.minute == tuple(range(60))
    assert schedule.next_after(utc(2026, 1, 1, 2, 0)) == utc(2026, 1, 1, 2, 1)
    assert schedule.next_after(utc(2026, 1, 1, 2, 58)) == utc(2026, 1, 1, 2, 59)
    assert schedule.next_after(utc(2026, 1, 1, 2, 59)) == utc(2026, 1, 2, 2, 0)
    assert schedule.describe() == "every minute of hour 2 every day (UTC)"
    assert [parse_field(name, "*")[::-1][0] for name in FIELD_SETS] == [59, 23, 31, 12, 6]
    assert parse_field("day_of_month", " * ")[0] == 1
    assert parse_field("month", "*") == tuple(range(1, 13))  # December too (the original: 0-11)


def test_an_empty_field_is_not_given() -> None:
    """Empty takes no part, so the finer field sets the step: once at 02:00."""
    assert parse_field("minute", "") == parse_field("minute", "  ") == ()
    schedule = Schedule(minute=parse_field("minute", ""), hour=parse_field("hour", "2"))
    assert schedule.next_after(utc(2026, 1, 1, 2, 0)) == utc(2026, 1, 2, 2, 0)


def test_values_are_separated_by_spaces_or_commas() -> None:
    assert parse_field("minute", "10 13") == (10, 13)  # the original form's way
    assert parse_field("minute", "10,13") == (10, 13)
    assert parse_field("minute", " 13, 10  13,") == (10, 13)
    assert parse_field("day_of_week", "0\t6") == (0, 6)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("minute", "* 5", r"minute: '\*' is not a number.*\(\* stands alone"),
        ("minute", "*/5", r"minute: '\*/5' is not a number; give \* or numbers from 0 to 59"),
        ("hour", "1-5", r"hour: '1-5' is not a number"),
        ("hour", "-1", r"hour: '-1' is not a number"),
        ("hour", "2.5", r"hour: '2.5' is not a number"),
        ("hour", "²", r"hour: '²' is not a number"),
        ("hour", "24", r"hour values must be within 0-23, got 24"),
        ("day_of_week", "7", r"0 = Monday \.\.\. 6 = Sunday"),
        ("second", "1", r"unknown field 'second'"),
    ],
)
def test_bad_field_text_is_refused_clearly(name: str, text: str, message: str) -> None:
    with pytest.raises(InvalidScheduleError, match=message):
        parse_field(name, text)


@pytest.mark.parametrize("text", ["", "*", "5", "0,30", "1,2,3"])
def test_field_text_reads_back(text: str) -> None:
    assert field_text("minute", parse_field("minute", text)) == text


def test_describe_lists_runs_as_ranges() -> None:
    assert Schedule(minute=(0, 1, 2, 5, 7, 8)).describe() == "at minute 0-2, 5, 7, 8 of every hour"
    assert Schedule(minute=tuple(range(60))).describe() == "every minute"
