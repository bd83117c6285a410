"""The jobs table's URL state: filters, order, page size and keyset cursors.

Everything lives in the query string, so a view can be bookmarked and the live
refresh asks for exactly the same page. Jobs are ordered by id, which is also
their creation order (ids are handed out as jobs are added), so sorting "by
created" and "by id" is the same sort. Pages are keyset pages: ``after=<id>``
continues past a row in the current order, ``before=<id>`` goes back, so
paging stays cheap however many jobs a service holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

from starlette.datastructures import QueryParams

from remotetask.jobs import Job, JobQuery, Status
from remotetask.service import TaskService

PAGE_SIZES: Final = (10, 20, 50, 100)
DEFAULT_SIZE: Final = 20


@dataclass(frozen=True)
class JobsView:
    """Which jobs the table shows and in which order, as read from the URL."""

    statuses: tuple[Status, ...] = ()
    task: str | None = None
    newest_first: bool = True
    size: int = DEFAULT_SIZE
    after: int | None = None
    before: int | None = None

    @classmethod
    def from_query(cls, params: QueryParams) -> JobsView:
        """Read the URL; values that make no sense fall back to the defaults."""
        known = {str(status) for status in Status}
        statuses = tuple(Status(v) for v in dict.fromkeys(params.getlist("status")) if v in known)
        size = _int(params.get("size"))
        return cls(
            statuses=statuses,
            task=params.get("task") or None,
            newest_first=params.get("order") != "asc",
            size=size if size in PAGE_SIZES else DEFAULT_SIZE,
            after=_int(params.get("after")),
            before=_int(params.get("before")),
        )

    def query(self, **changes: Any) -> dict[str, Any]:
        """Query parameters for a link to this view with ``changes``, cursors dropped.

        Pass ``after=`` or ``before=`` to link to another page of the same view.
        """
        view = replace(self, **{"after": None, "before": None, **changes})
        return {
            "status": [str(status) for status in view.statuses],
            "task": view.task,
            "order": None if view.newest_first else "asc",
            "size": None if view.size == DEFAULT_SIZE else view.size,
            "after": view.after,
            "before": view.before,
        }

    def _job_query(self, newest_first: bool, cursor: int | None, limit: int) -> JobQuery:
        return JobQuery(frozenset(self.statuses), self.task, newest_first, cursor, limit)


@dataclass(frozen=True)
class Page:
    """One page of jobs in display order, with the cursors of its neighbours (None: none)."""

    jobs: list[Job]
    next_after: int | None
    prev_before: int | None


def fetch_page(service: TaskService, view: JobsView) -> Page:
    """The page ``view`` names; one query for it and at most one to see if it has a neighbour."""
    forward = view.before is None
    cursor = view.after if forward else view.before
    order = view.newest_first if forward else not view.newest_first
    rows = service.list_jobs(view._job_query(order, cursor, view.size + 1))
    more = len(rows) > view.size
    rows = rows[: view.size]
    if not forward:
        rows.reverse()
    if not rows:
        return Page([], None, None)

    def beyond(row: Job, newest_first: bool) -> bool:
        return bool(service.list_jobs(view._job_query(newest_first, row.id, 1)))

    if forward:
        has_next = more
        has_prev = cursor is not None and beyond(rows[0], not view.newest_first)
    else:
        has_prev = more
        has_next = beyond(rows[-1], view.newest_first)
    return Page(rows, rows[-1].id if has_next else None, rows[0].id if has_prev else None)


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() and len(text) < 19 else None
