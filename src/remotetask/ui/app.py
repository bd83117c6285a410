"""``create_ui_app``: the management UI as a Starlette app to mount (at ``/ui``).

It depends on the core and on a ``TokenVerifier`` only, so the HTTP server
mounts it next to its API and hands it the same token store. Sessions live in
the app's database (``App.logins``), so several server processes share them.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from remotetask.app import App
from remotetask.auth import TokenVerifier
from remotetask.ui import add, cron, job, jobs, login, overview, schedules, search, triage
from remotetask.ui.common import (
    JobElsewhere,
    LoginRequired,
    UIContext,
    optional_visit,
    redirect,
    render,
    url,
)
from remotetask.ui.filters import STATIC, templates
from remotetask.ui.security import CachedStatic, SecurityHeaders


def create_ui_app(
    app: App,
    verify_token: TokenVerifier,
    *,
    extra_templates: Path | str | None = None,
    refresh_seconds: float = 5.0,
) -> Starlette:
    """The UI over ``app``'s services; mount it, e.g. ``Mount("/ui", create_ui_app(...))``.

    ``extra_templates`` is a folder searched before the built-in templates: put
    ``<task>_detail.html`` files there. ``refresh_seconds`` is how often open
    pages refresh their live parts.
    """
    web = Starlette(
        routes=_routes(),
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            HTTPException: _http_error,
            LoginRequired: login.login_required,
            JobElsewhere: _job_elsewhere,
        },
    )
    web.state.ui = UIContext(
        app=app,
        verify_token=verify_token,
        templates=templates(extra_templates),
        refresh_seconds=refresh_seconds,
    )
    return web


def _routes() -> list[Route | Mount]:
    s = "/services/{service}"
    one = s + "/jobs/{job_id}"
    post = ["POST"]
    return [
        Route("/", overview.overview_page, name="overview"),
        Route("/login", login.login_page, name="login"),
        Route("/login", login.login, methods=post, name="login_post"),
        Route("/logout", login.logout, methods=post, name="logout"),
        Route("/find", search.find_job, name="find"),
        Route("/schedules", schedules.board_page, name="schedules"),
        Route(s + "/processing", overview.processing, methods=post, name="processing"),
        Route(s + "/processing/stop", overview.processing_confirm, name="processing_confirm"),
        Route(s + "/jobs", jobs.jobs_page, name="jobs"),
        Route(s + "/jobs/selected", jobs.jobs_selected, methods=post, name="jobs_selected"),
        Route(s + "/bulk", jobs.bulk_confirm, name="bulk"),
        Route(s + "/bulk", jobs.bulk_run, methods=post, name="bulk_post"),
        Route(s + "/add", add.add_page, name="add"),
        Route(s + "/add", add.add_post, methods=post, name="add_post"),
        Route(s + "/errors", triage.triage_page, name="triage"),
        Route(s + "/errors/remove", triage.group_confirm, name="triage_confirm"),
        Route(s + "/errors", triage.group_action, methods=post, name="triage_post"),
        Route(s + "/cron", schedules.service_board, name="cron"),
        Route(s + "/cron/new", cron.cron_new, name="cron_new"),
        Route(s + "/cron/new", cron.cron_new_post, methods=post, name="cron_new_post"),
        Route(one, job.job_page, name="job"),
        Route(one + "/confirm", job.job_confirm, name="job_confirm"),
        Route(one + "/cancel", job.job_cancel, methods=post, name="job_cancel"),
        Route(one + "/retry", job.job_retry, methods=post, name="job_retry"),
        Route(one + "/start", job.job_start, methods=post, name="job_start"),
        Route(one + "/delete", job.job_delete, methods=post, name="job_delete"),
        Route(one + "/run", job.job_run_now, methods=post, name="job_run"),
        Route(one + "/pause", job.job_pause, methods=post, name="job_pause"),
        Route(one + "/input", job.job_edit, name="job_edit"),
        Route(one + "/input", job.job_edit_post, methods=post, name="job_edit_post"),
        Route(one + "/edit", cron.cron_edit, name="cron_edit"),
        Route(one + "/edit", cron.cron_edit_post, methods=post, name="cron_edit_post"),
        Mount("/static", CachedStatic(directory=STATIC), name="static"),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    """Error pages keep the header (who is logged in, the job box) and say what to do."""
    assert isinstance(exc, HTTPException)
    from starlette.concurrency import run_in_threadpool

    current = await run_in_threadpool(optional_visit, request)
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is no page at {request.url.path}."
    elif exc.status_code == 405:
        detail = "This address does not take that kind of request."
    return render(
        request,
        current,
        "error.html",
        {"status": exc.status_code, "detail": detail},
        status=exc.status_code,
    )


async def _job_elsewhere(request: Request, exc: Exception) -> Response:
    """A job opened under the wrong service: go to its own service's page."""
    assert isinstance(exc, JobElsewhere)
    return redirect(url(request, "job", service=exc.job.service, job_id=exc.job.id))
