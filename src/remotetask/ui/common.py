"""What every UI page shares: who is asking, which service and job, rendering, form checks.

Handlers are plain synchronous functions run in Starlette's thread pool, since
every TaskService verb blocks on the database. ``form_action`` wraps the ones
that change state: it reads the form, then checks the session, the origin, the
CSRF token and the action against the one role table, before the handler runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from remotetask.app import App
from remotetask.auth import REQUIRED_ROLE, Action, Principal, Session, TokenVerifier, csrf_matches
from remotetask.errors import InvalidReferenceError, JobNotFoundError, UnknownServiceError
from remotetask.jobs import Job
from remotetask.refs import ServiceRef
from remotetask.service import TaskService
from remotetask.ui.security import same_origin

COOKIE_NAME = "remotetask_ui"
MAX_JOB_ID = 2**63 - 1


@dataclass(frozen=True)
class UIContext:
    """Everything the handlers need, kept on the Starlette app's state."""

    app: App
    verify_token: TokenVerifier
    templates: Jinja2Templates
    refresh_seconds: float


@dataclass(frozen=True)
class Visit:
    """A logged-in request: the live session and the principal its token maps to now."""

    session: Session
    principal: Principal


class LoginRequired(Exception):
    """Raised when a page needs a login; answered with a redirect to the login form.

    ``expired`` says a session cookie came with the request but names no live
    session, so the login page can say why it is shown.
    """

    def __init__(self, expired: bool = False) -> None:
        super().__init__("login required")
        self.expired = expired


def ui(request: Request) -> UIContext:
    context: UIContext = request.app.state.ui
    return context


def session_of(request: Request) -> Session | None:
    return ui(request).app.logins.find(request.cookies.get(COOKIE_NAME))


def visit(request: Request) -> Visit:
    """The logged-in visit, re-verifying the session's token (revocation ends it at once)."""
    session = session_of(request)
    if session is None:
        raise LoginRequired(expired=COOKIE_NAME in request.cookies)
    principal = ui(request).verify_token(session.token)
    if principal is None:
        ui(request).app.logins.end(session)
        raise LoginRequired(expired=True)
    return Visit(session, principal)


def optional_visit(request: Request) -> Visit | None:
    """The visit if the request is logged in, else None (error pages keep their header)."""
    try:
        return visit(request)
    except LoginRequired:
        return None


def check(current: Visit, action: Action) -> None:
    """403 unless the visitor's role is enough for ``action`` (the one role table)."""
    if not current.principal.may(action):
        needed = REQUIRED_ROLE[action].value
        raise HTTPException(
            403, f"{action} needs the {needed} role; you have {current.principal.role.value}"
        )


def service(request: Request, current: Visit) -> TaskService:
    """The service named in the path; 404 alike for unknown ones and ones of unseen sites."""
    text = request.path_params["service"]
    try:
        ref = ServiceRef.parse(text)
        if not current.principal.sees(ref.site):
            raise UnknownServiceError(text)
        return ui(request).app.service(ref)
    except (InvalidReferenceError, UnknownServiceError):
        raise HTTPException(404, f"There is no service {text} that you may see.") from None


def job_id_of(text: str) -> int | None:
    """A job id from a path or box: ASCII digits within the id range, else None."""
    text = text.strip().lstrip("#")
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_JOB_ID else None


def job_or_404(svc: TaskService, request: Request, current: Visit) -> Job:
    """The job named in the path; a job of another visible service redirects there."""
    text = request.path_params["job_id"]
    job_id = job_id_of(text)
    if job_id is None:
        raise HTTPException(404, f"{text!r} is not a job id: ids are whole numbers.")
    try:
        return svc.job(job_id)
    except JobNotFoundError:
        pass
    elsewhere = ui(request).app.find_job(job_id)
    if elsewhere is not None and current.principal.sees(ServiceRef.parse(elsewhere.service).site):
        raise JobElsewhere(elsewhere)
    raise HTTPException(404, f"There is no job {job_id} in {svc.ref}.")


class JobElsewhere(Exception):
    """The job asked for lives in another service: answered with a redirect there."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.service)
        self.job = job


def url(request: Request, name: str, query: Mapping[str, Any] | None = None, **params: Any) -> str:
    """A root-relative URL (it includes the mount point), with an optional query string."""
    path = request.url_for(name, **params).path
    encoded = urlencode_query(query or {})
    return f"{path}?{encoded}" if encoded else path


def urlencode_query(params: Mapping[str, Any]) -> str:
    """A query string from a mapping, leaving out empty values."""
    pairs = [(k, v) for k, v in params.items() if v not in (None, "", [])]
    return urlencode(pairs, doseq=True)


def redirect(target: str) -> RedirectResponse:
    """303 See Other: after a POST the browser GETs the result page (post/redirect/get)."""
    return RedirectResponse(target, status_code=303)


def flash(request: Request, current: Visit, message: str) -> None:
    """A message for the next page this browser shows (post/redirect/get)."""
    ui(request).app.logins.flash(current.session, message)


def render(
    request: Request,
    current: Visit | None,
    name: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """Render a page; live refreshes (``HX-Request``) get no flashes."""
    partial = request.headers.get("hx-request") == "true"
    logins = ui(request).app.logins
    values = {
        "visit": current,
        "principal": current.principal if current else None,
        "csrf": current.session.csrf if current else "",
        "flashes": logins.take_flashes(current.session) if current and not partial else [],
        "refresh_seconds": ui(request).refresh_seconds,
        "now": ui(request).app.clock.now(),
        **(context or {}),
    }
    headers = {"Cache-Control": "no-store", "Vary": "HX-Request, Cookie"}
    return ui(request).templates.TemplateResponse(
        request, name, values, status_code=status, headers=headers
    )


FormHandler = Callable[[Request, Visit, FormData], Response]


def form_action(
    action: Action,
) -> Callable[[FormHandler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a POST handler: logged in, same origin, valid CSRF token, allowed ``action``."""

    def wrap(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = await request.form()
            try:
                current = await run_in_threadpool(visit, request)
                check_form(request, current.session, form)
                check(current, action)
                return await run_in_threadpool(handler, request, current, form)
            finally:
                await form.close()

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        endpoint.action = action  # type: ignore[attr-defined]  # read by the role parity test
        return endpoint

    return wrap


def check_form(request: Request, session: Session, form: FormData) -> None:
    """403 unless the request comes from our own pages: same origin and this session's token."""
    if not same_origin(request.headers):
        raise HTTPException(403, "This form was sent from another site.")
    if not csrf_matches(session, form.get("csrf")):
        raise HTTPException(403, "The form's security token is missing or stale; reload the page.")


def form_text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default
