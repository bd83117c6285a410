"""``create_ui_app``: the management UI as a Starlette app to mount (at ``/ui``).

It depends on the core and on a ``TokenVerifier`` only, so the HTTP server
mounts it next to its API and hands it the same token store.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from remotetask.app import App
from remotetask.auth import TokenVerifier
from remotetask.ui import cron, jobs, overview
from remotetask.ui.common import (
    LoginRequired,
    UIContext,
    check_form,
    form_text,
    redirect,
    render,
    session_of,
    templates,
    ui,
    url,
)
from remotetask.ui.security import SecurityHeaders
from remotetask.ui.sessions import COOKIE_NAME, MAX_AGE, Session

STATIC = Path(__file__).parent / "static"


def create_ui_app(
    app: App,
    verify_token: TokenVerifier,
    *,
    secret_key: bytes | None = None,
    extra_templates: Path | str | None = None,
    refresh_seconds: float = 5.0,
) -> Starlette:
    """The UI over ``app``'s services; mount it, e.g. ``Mount("/ui", create_ui_app(...))``.

    ``secret_key`` signs session cookies (a random one is made when None, which
    is fine because sessions live in this process anyway). ``extra_templates``
    is a folder searched before the built-in templates: put ``<task>_detail.html``
    files there. ``refresh_seconds`` is how often an open jobs table refreshes.
    """
    from remotetask.ui.sessions import SessionStore

    web = Starlette(
        routes=_routes(),
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: _http_error, LoginRequired: _login_required},
    )
    web.state.ui = UIContext(
        app=app,
        verify_token=verify_token,
        sessions=SessionStore(secret_key or secrets.token_bytes(32)),
        templates=templates(extra_templates),
        refresh_seconds=refresh_seconds,
    )
    return web


def _routes() -> list[Route | Mount]:
    s = "/services/{service}"
    job = s + "/jobs/{job_id:int}"
    return [
        Route("/", overview.overview_page, name="overview"),
        Route("/login", login_page, name="login"),
        Route("/login", login, methods=["POST"], name="login_post"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route(s + "/processing", overview.processing, methods=["POST"], name="processing"),
        Route(s + "/jobs", jobs.jobs_page, name="jobs"),
        Route(s + "/jobs/selected", jobs.jobs_selected, methods=["POST"], name="jobs_selected"),
        Route(s + "/bulk", jobs.bulk_confirm, name="bulk"),
        Route(s + "/bulk", jobs.bulk_run, methods=["POST"], name="bulk_post"),
        Route(job, jobs.job_page, name="job"),
        Route(job + "/cancel", jobs.job_cancel, methods=["POST"], name="job_cancel"),
        Route(job + "/retry", jobs.job_retry, methods=["POST"], name="job_retry"),
        Route(job + "/run", jobs.job_run_now, methods=["POST"], name="job_run"),
        Route(s + "/cron", cron.cron_list, name="cron"),
        Route(s + "/cron/new", cron.cron_new, name="cron_new"),
        Route(s + "/cron/new", cron.cron_new_post, methods=["POST"], name="cron_new_post"),
        Route(job + "/edit", cron.cron_edit, name="cron_edit"),
        Route(job + "/edit", cron.cron_edit_post, methods=["POST"], name="cron_edit_post"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def login_page(request: Request) -> Response:
    """The token form; it starts an anonymous session so the form has a CSRF token."""
    session = session_of(request) or ui(request).sessions.new()
    response = render(
        request, None, "login.html", {"error": None, "next": _next(request)}, session=session
    )
    _set_cookie(request, response, session)
    return response


async def login(request: Request) -> Response:
    """Check the token; on success start a new session (a new id: no fixation)."""
    async with request.form() as form:
        session = session_of(request)
        if session is None:
            return redirect(url(request, "login"))  # expired while the form was open
        check_form(request, session, form)
        token = form_text(form, "token")
        principal = await run_in_threadpool(ui(request).verify_token, token) if token else None
        if principal is None:
            return render(
                request,
                None,
                "login.html",
                {
                    "error": "That token is not valid.",
                    "next": _next(request, form_text(form, "next")),
                },
                status=401,
            )
        sessions = ui(request).sessions
        sessions.drop(session)
        fresh = sessions.new(token)
        fresh.flash(f"Logged in as {principal.name} ({principal.role}).")
        response = redirect(_next(request, form_text(form, "next")))
        _set_cookie(request, response, fresh)
        return response


async def logout(request: Request) -> Response:
    async with request.form() as form:
        session = session_of(request)
        if session is not None:
            check_form(request, session, form)
            ui(request).sessions.drop(session)
    response = redirect(url(request, "login"))
    response.delete_cookie(COOKIE_NAME, path=_cookie_path(request))
    return response


def _set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE_NAME,
        ui(request).sessions.cookie(session),
        max_age=int(MAX_AGE),
        path=_cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def _cookie_path(request: Request) -> str:
    return url(request, "overview")


def _next(request: Request, wanted: str | None = None) -> str:
    """Where to go after login: a path inside the UI, never another site."""
    target = wanted if wanted is not None else request.query_params.get("next", "")
    home = url(request, "overview")
    if target.startswith(home) and not target.startswith("//") and "\\" not in target:
        return target
    return home


async def _login_required(request: Request, exc: Exception) -> Response:
    target = url(request, "login", {"next": request.url.path if request.method == "GET" else None})
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render(request, None, "error.html", {"error": exc}, status=exc.status_code)
