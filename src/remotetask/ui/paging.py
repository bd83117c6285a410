"""The jobs table's URL state: filters, search, sort, page size and keyset cursors.

Everything lives in the query string, so a view can be bookmarked and the live
refresh asks for exactly the same page. Pages are keyset pages: ``after`` names
the last row of the page before (``<id>`` or, for sorts other than id,
``<id>:<value>``; an empty value is the run of jobs without one), ``before`` the
first row of the page after. A search reads at most SEARCH_WINDOW ids per page
and says where it stopped, so it stays fast on millions of jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Final

from starlette.datastructures import QueryParams

from remotetask.jobs import SORTS, Job, JobQuery, Status
from remotetask.service import TaskService

DEFAULT_SIZE: Final = 20
MAX_SIZE: Final = 500
"""The largest page the table shows (any size from 1 up to this is accepted)."""
PAGE_SIZES: Final = (10, 20, 50, 100, 500)
SEARCH_WINDOW: Final = 50_000
"""Ids a search page reads at most before it stops and offers to search on."""
BATCH: Final = 500
SORT_LABELS: Final = {
    "id": "ID",
    "task": "Task",
    "status": "Status",
    "created": "Created",
    "started": "Started",
    "ended": "Ended",
}


@dataclass(frozen=True)
class Cursor:
    """A row to page past: its id and, for sorts other than id, its sort value."""

    id: int
    value: str | float | None = None

    def text(self) -> str:
        return str(self.id) if self.value is None else f"{self.id}:{self.value}"


@dataclass(frozen=True)
class JobsView:
    """Which jobs the table shows and in which order, as read from the URL."""

    statuses: tuple[Status, ...] = ()
    task: str | None = None
    search: str | None = None
    sort: str = "id"
    descending: bool = True
    size: int = DEFAULT_SIZE
    after: str | None = None
    before: str | None = None

    @classmethod
    def from_query(cls, params: QueryParams) -> JobsView:
        """Read the URL; values that make no sense fall back to the defaults."""
        known = {str(status) for status in Status}
        statuses = tuple(Status(v) for v in dict.fromkeys(params.getlist("status")) if v in known)
        size = number(params.get("size"))
        sort = params.get("sort", "id")
        search = (params.get("q") or "").strip()[:200]
        return cls(
            statuses=statuses,
            task=(params.get("task") or None),
            search=search or None,
            sort=sort if sort in SORTS else "id",
            descending=params.get("order") != "asc",
            size=size if size is not None and 1 <= size <= MAX_SIZE else DEFAULT_SIZE,
            after=params.get("after") or None,
            before=params.get("before") or None,
        )

    def query(self, **changes: Any) -> dict[str, Any]:
        """Query parameters for a link to this view with ``changes``, cursors dropped."""
        view = replace(self, **{"after": None, "before": None, **changes})
        return {
            "status": [str(status) for status in view.statuses],
            "task": view.task,
            "q": view.search,
            "sort": None if view.sort == "id" else view.sort,
            "order": None if view.descending else "asc",
            "size": None if view.size == DEFAULT_SIZE else view.size,
            "after": view.after,
            "before": view.before,
        }

    def sorted_by(self, sort: str) -> dict[str, Any]:
        """The link of a column header: that sort, flipped if it is the current one."""
        descending = not self.descending if sort == self.sort else sort in ("id", "created")
        return self.query(sort=sort, descending=descending)

    @property
    def searching(self) -> bool:
        return self.search is not None and self.sort in ("id", "created")


@dataclass(frozen=True)
class Page:
    """One page of jobs in display order, with the cursors of its neighbours (None: none)."""

    jobs: list[Job]
    next_after: str | None
    prev_before: str | None
    searched_to: int | None = None
    """For a search page that read its whole window: the id where it stopped."""


def fetch_page(service: TaskService, view: JobsView) -> Page:
    """The page ``view`` names; one query for it and at most one to see if it has a neighbour."""
    forward = view.before is None
    cursor = parse_cursor(view.after if forward else view.before, view.sort)
    descending = view.descending if forward else not view.descending
    bound = None
    if view.searching:
        start = cursor.id if cursor is not None else None
        bound = _window(service, start, descending)
    rows = service.list_jobs(_query(view, descending, cursor, view.size + 1, bound))
    more = len(rows) > view.size
    rows = rows[: view.size]
    if not forward:
        rows.reverse()
    if not rows and not (view.searching and bound is not None and bound > 0):
        return Page([], None, None)
    searched_to = bound if view.searching and not more and bound else None
    if not rows:
        return Page([], Cursor(bound or 0).text() if searched_to else None, None, searched_to)

    def beyond(row: Job, descending: bool) -> bool:
        if view.searching:
            return True  # a search does not look further than its window to say so
        return bool(service.list_jobs(_query(view, descending, cursor_of(row, view.sort), 1)))

    if forward:
        has_next = more or searched_to is not None
        has_prev = cursor is not None and beyond(rows[0], not view.descending)
    else:
        has_prev = more
        has_next = beyond(rows[-1], view.descending)
    last = cursor_of(rows[-1], view.sort) if not searched_to else Cursor(searched_to)
    return Page(
        rows,
        last.text() if has_next else None,
        cursor_of(rows[0], view.sort).text() if has_prev else None,
        searched_to,
    )


def _window(service: TaskService, start: int | None, descending: bool) -> int | None:
    """The far end (exclusive) of the ids a search page may read."""
    if descending:
        top = start if start is not None else _newest_id(service)
        return max(0, top - SEARCH_WINDOW) if top is not None else None
    return (start or 0) + SEARCH_WINDOW


def _newest_id(service: TaskService) -> int | None:
    newest = service.list_jobs(JobQuery(limit=1))
    return newest[0].id + 1 if newest else None


def _query(
    view: JobsView, descending: bool, cursor: Cursor | None, limit: int, bound: int | None = None
) -> JobQuery:
    return JobQuery(
        frozenset(view.statuses),
        view.task,
        descending,
        None if cursor is None else cursor.id,
        limit,
        sort=view.sort,
        after_value=None if cursor is None else cursor.value,
        search=view.search,
        scan_until=bound,
        nulls_first=descending != view.descending,
    )


def cursor_of(job: Job, sort: str) -> Cursor:
    """The cursor that pages past ``job`` in a list sorted by ``sort``."""
    if sort in ("id", "created"):
        return Cursor(job.id)
    value = getattr(job, sort)
    return Cursor(job.id, str(value) if sort in ("task", "status") else value)


def parse_cursor(text: str | None, sort: str) -> Cursor | None:
    """A cursor from the URL; None for anything this server would not have written."""
    if not text:
        return None
    head, sep, value = text.partition(":")
    job_id = number(head)
    if job_id is None:
        return None
    if sort in ("id", "created") or not sep:
        return Cursor(job_id)
    if sort in ("task", "status"):
        return Cursor(job_id, value) if value else None
    if not value:
        return Cursor(job_id, None)
    try:
        moment = float(value)
    except ValueError:
        return None
    return Cursor(job_id, moment) if moment == moment and abs(moment) < 1e12 else None


def number(text: str | None) -> int | None:
    """A non-negative whole number of at most 18 ASCII digits, else None."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def matching_ids(
    service: TaskService, view: JobsView, statuses: frozenset[Status], windows: int | None = None
) -> Iterator[int]:
    """Ids of the jobs the view's filters match with one of ``statuses``, newest first.

    Read in batches (and, for a search, window by window; ``windows`` stops after
    that many), so acting on a large filter never holds one long read.
    """
    wanted = statuses & frozenset(view.statuses) if view.statuses else statuses
    if not wanted:
        return
    top: int | None = None
    searched = 0
    while True:
        bound = _window(service, top, True) if view.search else None
        query = JobQuery(wanted, view.task, True, top, BATCH, search=view.search, scan_until=bound)
        rows = service.list_jobs(query)
        yield from (job.id for job in rows)
        if len(rows) == BATCH:
            top = rows[-1].id
            continue
        searched += 1
        if bound is None or bound <= 0 or (windows is not None and searched >= windows):
            return
        top = bound + 1
