"""The template environment: loaders, and the filters that turn values into words.

Times are shown as UTC wall time and, next to it, relative to now ("3 min ago");
durations and delays in the largest fitting unit; inputs as a one-line summary.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from starlette.templating import Jinja2Templates

from remotetask.clock import utc_text
from remotetask.schedule import Schedule
from remotetask.ui.common import url, urlencode_query

_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
STATIC = Path(__file__).parent / "static"
CAP = 10_000
"""Counts stop here (shown as "10,000+"), so no page counts a service's whole history."""


def templates(extra: Path | str | None) -> Jinja2Templates:
    """Built-in templates, overridable and extensible (``<task>_detail.html``) from ``extra``."""
    loaders: list[jinja2.BaseLoader] = []
    if extra is not None:
        loaders.append(jinja2.FileSystemLoader(str(extra)))
    loaders.append(jinja2.PackageLoader("remotetask.ui", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        describe=describe,
        ago=ago,
        duration=duration,
        pretty=pretty,
        short=short,
        count=count,
        urlencode_query=urlencode_query,
    )
    env.globals.update(detail_templates=detail_templates, url_for=_url_for, static=_static, CAP=CAP)
    return Jinja2Templates(env=env)


@jinja2.pass_context
def _url_for(context: Mapping[str, Any], name: str, /, **params: Any) -> str:
    return url(context["request"], name, **params)


@jinja2.pass_context
def _static(context: Mapping[str, Any], path: str) -> str:
    """A static file's URL with its content hash, so it can be cached for good."""
    return url(context["request"], "static", {"v": _version(path)}, path=path)


@cache
def _version(path: str) -> str:
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:12]


def detail_templates(task: str) -> list[str]:
    """``<task>_detail.html`` first, then the generic one; odd task names get the generic."""
    specific = [f"{task}_detail.html"] if _TEMPLATE_NAME.fullmatch(task) else []
    return [*specific, "detail.html"]


def describe(schedule: Schedule) -> str:
    """The schedule in words; a delay in the largest fitting unit ("4 h", not "14400 s")."""
    if schedule.is_delay and schedule.delay is not None:
        return f"once, {duration(schedule.delay)} after it was added"
    return schedule.describe()


def when(timestamp: float | None) -> str:
    """Epoch seconds as UTC wall time, to the second; a dash for none."""
    return utc_text(timestamp, none="—")


def ago(timestamp: float | None, now: float) -> str:
    """How long before (or after) ``now``: "12 s ago", "in 3 h"."""
    if timestamp is None:
        return ""
    delta = now - timestamp
    text = duration(abs(delta))
    return f"{text} ago" if delta >= 0 else f"in {text}"


def duration(seconds: float | None) -> str:
    """Seconds in the largest unit that fits: "850 ms", "42 s", "3 min 5 s", "2 h 10 min"."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def count(value: int) -> str:
    """A count with thousands separators; a capped count reads "10,000+"."""
    return f"{value:,}+" if value >= CAP else f"{value:,}"


def short(value: Any, length: int = 60) -> str:
    """A JSON value on one line, cut to ``length`` characters for a table cell."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= length else text[: length - 1] + "…"


def pretty(value: Any) -> str:
    """A JSON value indented for a <pre> block (autoescaping makes it safe)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
