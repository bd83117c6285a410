"""When a cron or delayed job runs next: the original's field sets, crontab, or a delay.

A `Schedule` takes one of three forms:

* **Field sets** (the original's `addCronJob`): always UTC. The finest field given
  sets the step and every finer field is pinned to its first value, so `hour=(2, 13)`
  fires at 02:00 and 13:00 and `month=(1, 5)` at 00:00 on the 1st. Fields combine
  with AND. Day of week counts 0 = Monday ... 6 = Sunday, as the original did. With
  no field at all the schedule fires every minute.
* **A crontab expression** (`cron="*/5 * * * *"`, 0 = Sunday as in cron), read in the
  IANA `timezone`. Matching is delegated to `cronsim` behind `_cron_next`, so the
  library can be swapped without touching callers.
* **A delay**: a one-shot job due `delay` seconds after it is scheduled. A delay of
  0 is no delay, as in the original: the schedule is then one of the other forms.

`parse_field` reads a field set as people type it in a form or on the command line
(`*`, `10 13`, `10,13`); `field_text` writes one back.

Whatever the form, the next time is strictly after `now`, and a schedule with nothing
due within 366 days (`HORIZON`) has no next time (`None`).

DST policy for crontab expressions (cronsim mimics Debian cron; pinned by tests):

* If neither the minute nor the hour field starts with `*` (a fixed local time such
  as `30 2 * * *`), the wall clock is followed naively: a time inside a spring-forward
  gap runs once at the first minute after the gap (02:30 on 2026-03-29 in
  Europe/Berlin runs at 03:00 CEST), and a time inside the repeated fall-back hour
  runs once, at its first occurrence (the one before the clocks go back).
* Otherwise (`*/15 * * * *`, `0 * * * *`, `5 */2 * * *`) the schedule steps through
  real time matching local wall-clock fields: times inside a gap are skipped with no
  make-up run, and times inside the repeated hour run in both occurrences.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Final, TypedDict, Unpack
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from remotetask.errors import InvalidScheduleError

__all__ = ["FIELD_SETS", "HORIZON", "Schedule", "ScheduleFields", "field_text", "parse_field"]

HORIZON: Final = 366 * 24 * 60 * 60
"""Seconds after `now` beyond which a schedule is said to have no next time.

366 days, so a yearly date (at most 366 days from one to the next, across a leap
day) is always found. The original checked ``next <= now + 365 days`` before each
step, so it also tested the step past that line (a day, for a day-of-month
schedule); this window holds all of that, so every time it found is found here.
"""

_DAY: Final = 24 * 60 * 60
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_MINUTE_LEVEL, _HOUR_LEVEL, _DAY_LEVEL, _MONTH_LEVEL = 0, 1, 2, 3
_RANGES: Final[dict[str, tuple[int, int]]] = {
    "minute": (0, 59),
    "hour": (0, 23),
    "day_of_month": (1, 31),
    "month": (1, 12),
    "day_of_week": (0, 6),
}
FIELD_SETS: Final = tuple(_RANGES)
"""The original's five field names, finest first: each takes a set of numbers."""
_SEPARATORS: Final = re.compile(r"[\s,]+")
_NUMBER: Final = re.compile(r"[0-9]+")
_KEYS: Final = frozenset((*FIELD_SETS, "delay", "cron", "timezone"))
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS: Final = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


class ScheduleFields(TypedDict, total=False):
    """The keywords that give a schedule, as ``add_cron_job`` and ``update_cron_job`` take them."""

    minute: Iterable[int]
    hour: Iterable[int]
    day_of_month: Iterable[int]
    month: Iterable[int]
    day_of_week: Iterable[int]
    delay: float | None
    cron: str | None
    timezone: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a cron job fires next: field sets (UTC), a crontab expression, or a delay."""

    minute: tuple[int, ...] = ()
    hour: tuple[int, ...] = ()
    day_of_month: tuple[int, ...] = ()
    month: tuple[int, ...] = ()
    day_of_week: tuple[int, ...] = ()  # 0 = Monday ... 6 = Sunday (the original's)
    delay: float | None = None
    cron: str | None = None  # 5-field crontab, 0 = Sunday (cron's)
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        """Validate and normalise at once, so a bad schedule never reaches the store."""
        for name in FIELD_SETS:
            object.__setattr__(self, name, _normalise_field(name, getattr(self, name)))
        has_fields = any(getattr(self, name) for name in FIELD_SETS)
        if self.delay is not None:
            # 0 is no delay, as in the original (its form always sent 0): a cron job
            object.__setattr__(self, "delay", _normalise_delay(self.delay) or None)
        if not isinstance(self.timezone, str):
            raise InvalidScheduleError(f"timezone must be a string, got {self.timezone!r}")
        _zone(self.timezone)
        if self.cron is not None:
            if has_fields or self.delay is not None:
                raise InvalidScheduleError(
                    "a crontab expression cannot be combined with field sets or a delay"
                )
            object.__setattr__(self, "cron", _normalise_cron(self.cron))
        else:
            if self.delay is not None and has_fields:
                raise InvalidScheduleError("a delayed job cannot also have field sets")
            if self.timezone != "UTC":
                raise InvalidScheduleError(
                    f"timezone {self.timezone!r} applies only to crontab expressions; "
                    "field sets and delays are always UTC"
                )

    @property
    def is_delay(self) -> bool:
        """True for a one-shot delayed job (status `delayed`), False for a cron job."""
        return self.delay is not None

    def next_after(self, now: float) -> float | None:
        """Epoch seconds of the next run strictly after `now`; None if none within HORIZON."""
        if self.delay is not None:
            return now + self.delay
        if self.cron is not None:
            return _cron_next(self.cron, self.timezone, now)
        return self._fields_next(now)

    def describe(self) -> str:
        """The schedule in words, for the jobs table and the CLI."""
        if self.delay is not None:
            return f"once, {_number(self.delay)} s after it is scheduled"
        if self.cron is not None:
            return f"{_cron_words(self.cron)} ({self.timezone})"
        return self._fields_words()

    def to_json(self) -> dict[str, Any]:
        """A JSON object for the store and the HTTP API; `from_json` reads it back."""
        return {
            **{name: list(getattr(self, name)) for name in FIELD_SETS},
            "delay": self.delay,
            "cron": self.cron,
            "timezone": self.timezone,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        """Rebuild a schedule from `to_json` output (missing keys take their defaults)."""
        if not isinstance(data, Mapping):
            raise InvalidScheduleError(f"a schedule must be a JSON object, got {data!r}")
        return cls._of(data)

    @classmethod
    def of(cls, **fields: Unpack[ScheduleFields]) -> Schedule:
        """A schedule from a verb's keywords; a field set may be any iterable of ints."""
        return cls._of({k: _sequence(v) if k in _RANGES else v for k, v in fields.items()})

    @classmethod
    def _of(cls, data: Mapping[str, Any]) -> Schedule:
        """Refuse unknown keys by name (the constructor's TypeError would not say which)."""
        unknown = sorted(str(key) for key in data if key not in _KEYS)
        if unknown:
            raise InvalidScheduleError(f"unknown schedule fields: {', '.join(unknown)}")
        return cls(**data)

    # -- field sets ---------------------------------------------------------------

    def _level(self) -> int:
        """The finest field given; it sets the step (no field at all: every minute)."""
        given = (self.minute, self.hour, self.day_of_month or self.day_of_week, self.month)
        return next((level for level, values in enumerate(given) if values), _MINUTE_LEVEL)

    def _fields_next(self, now: float) -> float | None:
        """Walk candidate days, then hours and minutes, instead of stepping every second."""
        first = (math.floor(now) // 60 + 1) * 60  # second 0 of the next minute
        limit = now + HORIZON
        level = self._level()
        minutes = self.minute or ((0,) if level > _MINUTE_LEVEL else tuple(range(60)))
        hours = self.hour or ((0,) if level > _HOUR_LEVEL else tuple(range(24)))
        ordinal = first // _DAY + _EPOCH_ORDINAL
        while (day_start := (ordinal - _EPOCH_ORDINAL) * _DAY) <= limit:
            if self._day_matches(date.fromordinal(ordinal), level):
                for hour in hours:
                    for minute in minutes:
                        when = day_start + hour * 3600 + minute * 60
                        if when >= first:
                            return float(when) if when <= limit else None
            ordinal += 1
        return None

    def _day_matches(self, day: date, level: int) -> bool:
        """Month AND day of month AND day of week; the 1st only when month is finest."""
        if self.month and day.month not in self.month:
            return False
        if self.day_of_month:
            if day.day not in self.day_of_month:
                return False
        elif level == _MONTH_LEVEL and day.day != 1:
            return False
        return not self.day_of_week or day.weekday() in self.day_of_week

    def _fields_words(self) -> str:
        """Say the field sets the way a person would read them."""
        level = self._level()
        every_minute = self.minute == tuple(range(60))
        if level == _MINUTE_LEVEL and (not self.minute or every_minute):
            when = f"every minute of hour {_listed(self.hour)}" if self.hour else "every minute"
        elif self.minute and not self.hour:
            when = f"at minute {_listed(self.minute)} of every hour"
        elif self.minute and len(self.minute) * len(self.hour) > 6:
            when = f"at minute {_listed(self.minute)} of hour {_listed(self.hour)}"
        else:
            times = [(h, m) for h in self.hour or (0,) for m in self.minute or (0,)]
            when = "at " + ", ".join(f"{h:02d}:{m:02d}" for h, m in times)
        parts = [when]
        if self.day_of_month:
            parts.append(f"on day {_listed(self.day_of_month)} of the month")
        elif level == _MONTH_LEVEL:
            parts.append("on the 1st")
        if self.day_of_week:
            days = ", ".join(_WEEKDAYS[d] for d in self.day_of_week)
            parts.append(f"if it is a {days}" if self.day_of_month else f"on {days}")
        elif self.hour and not self.day_of_month:
            parts.append("every day")
        if self.month:
            names = ", ".join(_MONTHS[m - 1] for m in self.month)
            parts.append(("of " if level == _MONTH_LEVEL else "in ") + names)
        text = " ".join(parts)
        only_minutes = not (self.hour or self.day_of_month or self.day_of_week or self.month)
        return text if only_minutes else f"{text} (UTC)"


def parse_field(name: str, text: str) -> tuple[int, ...]:
    """A field set as typed in a form or on the command line, the original form's rules.

    ``*`` is every value of the field (minute ``*`` with hour ``2`` runs every minute
    from 02:00 to 02:59). Numbers are separated by spaces, commas or both (``10 13``,
    ``10,13``). Empty text is the field not given: it takes no part, and a finer
    field given sets the step (hour empty with minute ``5``: 5 past every hour; minute
    empty with hour ``2``: once, at 02:00). Anything else raises InvalidScheduleError.
    """
    if name not in _RANGES:
        raise InvalidScheduleError(
            f"unknown field {name!r}; the fields are {', '.join(FIELD_SETS)}"
        )
    low, high = _RANGES[name]
    words = [word for word in _SEPARATORS.split(text.strip()) if word]
    if words == ["*"]:
        return tuple(range(low, high + 1))
    for word in words:
        if not _NUMBER.fullmatch(word):
            alone = " (* stands alone: it already means every value)" if word == "*" else ""
            raise InvalidScheduleError(
                f"{name}: {word!r} is not a number; give * or numbers from {low} to {high} "
                f"separated by spaces or commas{alone}"
            )
    return _normalise_field(name, [int(word) for word in words])


def field_text(name: str, values: tuple[int, ...]) -> str:
    """The text ``parse_field`` reads back as ``values``: ``*``, ``10,13`` or empty."""
    low, high = _RANGES[name]
    if values == tuple(range(low, high + 1)):
        return "*"
    return ",".join(map(str, values))


def _normalise_field(name: str, value: object) -> tuple[int, ...]:
    """Sorted, de-duplicated ints in range; bools are refused as they are rarely meant."""
    if not isinstance(value, tuple | list | set | frozenset | range):
        raise InvalidScheduleError(f"{name} must be a list or tuple of integers, got {value!r}")
    low, high = _RANGES[name]
    hint = " (0 = Monday ... 6 = Sunday)" if name == "day_of_week" else ""
    items: set[int] = set()
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise InvalidScheduleError(f"{name} values must be integers, got {item!r}")
        if not low <= item <= high:
            raise InvalidScheduleError(
                f"{name} values must be within {low}-{high}{hint}, got {item}"
            )
        items.add(int(item))
    return tuple(sorted(items))


def _sequence(value: object) -> object:
    """A generator or other iterable as a tuple; anything else as given, to be refused."""
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return tuple(value)
    return value


def _normalise_delay(delay: object) -> float:
    """A finite, non-negative number of seconds, stored as float."""
    if isinstance(delay, bool) or not isinstance(delay, int | float):
        raise InvalidScheduleError(f"delay must be a number of seconds, got {delay!r}")
    if not math.isfinite(delay) or delay < 0:
        raise InvalidScheduleError(f"delay must be a finite number >= 0, got {delay!r}")
    return float(delay)


def _normalise_cron(expr: object) -> str:
    """Exactly five fields that the cron library accepts, single-spaced."""
    if not isinstance(expr, str):
        raise InvalidScheduleError(f"cron must be a string, got {expr!r}")
    fields = expr.split()
    if len(fields) != 5:
        raise InvalidScheduleError(
            f"crontab expression {expr!r} must have 5 fields "
            f"(minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    text = " ".join(fields)
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
    except (CronSimError, ValueError) as exc:
        raise InvalidScheduleError(f"invalid crontab expression {text!r}: {exc}") from exc
    return text


def _zone(name: str) -> tzinfo:
    """The tzinfo for an IANA name; UTC stays the fixed zone so cron skips DST handling."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidScheduleError(f"unknown timezone {name!r}") from exc


def _cron_next(expr: str, zone_name: str, now: float) -> float | None:
    """Adapter over cronsim: the first match strictly after `now` within HORIZON.

    cronsim can yield a time before `now` when `now` is in the second pass of a
    repeated hour (it resolves a fixed local time to the first pass), so such
    matches are skipped rather than trusted.
    """
    limit = now + HORIZON
    for match in CronSim(expr, datetime.fromtimestamp(now, _zone(zone_name))):
        when = match.timestamp()
        if when > limit:
            return None
        if when > now:
            return when
    return None  # cronsim gives up after 50 years without a match


def _cron_words(expr: str) -> str:
    """cronsim's explanation, lower-cased to sit inside a sentence."""
    try:
        words = CronSim(expr, datetime(2000, 1, 1, tzinfo=UTC)).explain()
    except Exception:  # explain() is best effort; the expression itself is valid
        return f"cron {expr!r}"
    return words[:1].lower() + words[1:]


def _number(value: float) -> str:
    """10.0 -> "10", 0.5 -> "0.5"."""
    return str(int(value)) if value.is_integer() else repr(value)


def _listed(values: tuple[int, ...]) -> str:
    """Sorted values with runs of three or more as ranges: (0, 1, 2, 5) -> "0-2, 5"."""
    parts: list[str] = []
    start = 0
    for end in range(len(values)):
        if end + 1 == len(values) or values[end + 1] != values[end] + 1:
            run = values[start : end + 1]
            parts.append(f"{run[0]}-{run[-1]}" if len(run) >= 3 else ", ".join(map(str, run)))
            start = end + 1
    return ", ".join(parts)
