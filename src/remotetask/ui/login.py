"""Logging in and out, and where a visitor without a live session is sent.

The login form keeps no server state: its CSRF token is a random value in a
short-lived cookie that the form repeats (a double-submit token). Only a
successful login creates a session (in the database, see ``remotetask.logins``).
Failed logins are counted per client address; past the limit the form answers
429 until the window ends. Deep links survive the detour through the login page
with their query string, and the page says why it is shown.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from remotetask.auth import MAX_AGE
from remotetask.ui.common import (
    COOKIE_NAME,
    LoginRequired,
    form_text,
    optional_visit,
    redirect,
    render,
    ui,
    url,
)
from remotetask.ui.security import same_origin

LOGIN_COOKIE = "remotetask_login"
REASONS = {
    "expired": "Your session has ended. Log in again to go on.",
    "lost": "Your session ended before that form was sent, so nothing was changed. "
    "Log in and send it again.",
}


def login_page(request: Request) -> Response:
    """The token form, with a fresh double-submit CSRF token."""
    reason = REASONS.get(request.query_params.get("why", ""))
    return _form(request, reason, None, 200)


def _form(request: Request, reason: str | None, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        None,
        "login.html",
        {"error": error, "reason": reason, "next": _next(request), "login_csrf": token},
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=url(request, "login"),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def login(request: Request) -> Response:
    """Check the token; on success start a session and go where the visitor was going."""
    async with request.form() as form:
        if not same_origin(request.headers):
            raise HTTPException(403, "This form was sent from another site.")
        submitted = form_text(form, "csrf").encode("utf-8", "replace")
        expected = request.cookies.get(LOGIN_COOKIE, "").encode("utf-8", "replace")
        if not expected or not hmac.compare_digest(submitted, expected):
            return _form(request, "The login form had expired; please try again.", None, 400)
        logins = ui(request).app.logins
        client = request.client.host if request.client else "unknown"
        wait = await run_in_threadpool(logins.blocked_for, client)
        if wait:
            response = _form(
                request, None, f"Too many failed logins; try again in {int(wait) + 1} s.", 429
            )
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        token = form_text(form, "token")
        principal = await run_in_threadpool(ui(request).verify_token, token) if token else None
        if principal is None:
            await run_in_threadpool(logins.failed, client)
            return _form(request, None, "That token is not valid.", 401)
        cookie, session = await run_in_threadpool(logins.open, token)
        await run_in_threadpool(
            logins.flash, session, f"Logged in as {principal.name} ({principal.role})."
        )
        response = redirect(_next(request, form_text(form, "next")))
        set_session_cookie(request, response, cookie)
        response.delete_cookie(LOGIN_COOKIE, path=url(request, "login"))
        return response


async def logout(request: Request) -> Response:
    async with request.form() as form:
        current = await run_in_threadpool(optional_visit, request)
        sent = form_text(form, "csrf").encode("utf-8", "replace")
        if (
            current is not None
            and same_origin(request.headers)
            and hmac.compare_digest(current.session.csrf.encode(), sent)
        ):
            await run_in_threadpool(ui(request).app.logins.end, current.session)
    response = redirect(url(request, "login"))
    response.delete_cookie(COOKIE_NAME, path=url(request, "overview"))
    return response


def set_session_cookie(request: Request, response: Response, cookie: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=int(MAX_AGE),
        path=url(request, "overview"),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def _next(request: Request, wanted: str | None = None) -> str:
    """Where to go after login: a path (with its query) inside the UI, never another site."""
    target = wanted if wanted is not None else request.query_params.get("next", "")
    home = url(request, "overview")
    parts = urlsplit(target)
    if (
        target.startswith(home)
        and not parts.scheme
        and not parts.netloc
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return home


async def login_required(request: Request, exc: Exception) -> Response:
    """Send the visitor to the login page, keeping where they were and saying why."""
    assert isinstance(exc, LoginRequired)
    home = url(request, "overview")
    why = "expired" if exc.expired else None
    if request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        why = "lost" if exc.expired else why
        here = _same_site_path(request.headers.get("referer", ""), request)
    if request.headers.get("hx-request") == "true":
        current = _same_site_path(request.headers.get("hx-current-url", ""), request)
        target = url(request, "login", {"next": current or home, "why": "expired"})
        return Response(status_code=204, headers={"HX-Redirect": target})
    target = url(request, "login", {"next": here or None, "why": why})
    response = RedirectResponse(target, status_code=303)
    if exc.expired:
        response.delete_cookie(COOKIE_NAME, path=home)
    return response


def _same_site_path(address: str, request: Request) -> str:
    """The path and query of a URL of this site (Referer, HX-Current-URL), else ""."""
    parts = urlsplit(address)
    if parts.netloc.lower() != request.headers.get("host", "").lower():
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")
