"""What every UI page shares: who is asking, which service, rendering, form checks.

Handlers are plain synchronous functions run in Starlette's thread pool, since
every TaskService verb blocks on the database. ``form_action`` wraps the ones
that change state: it reads the form, then checks the session, the origin, the
CSRF token and the role, in that order, before the handler runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from remotetask.app import App
from remotetask.auth import Principal, TokenVerifier
from remotetask.clock import utc_text
from remotetask.errors import InvalidReferenceError, JobNotFoundError, UnknownServiceError
from remotetask.jobs import Job
from remotetask.refs import ServiceRef
from remotetask.service import TaskService
from remotetask.ui.security import same_origin
from remotetask.ui.sessions import COOKIE_NAME, Session, SessionStore, csrf_matches

_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class UIContext:
    """Everything the handlers need, kept on the Starlette app's state."""

    app: App
    verify_token: TokenVerifier
    sessions: SessionStore
    templates: Jinja2Templates
    refresh_seconds: float


@dataclass(frozen=True)
class Visit:
    """A logged-in request: the live session and the principal its token maps to now."""

    session: Session
    principal: Principal


class LoginRequired(Exception):
    """Raised when a page needs a login; answered with a redirect to the login form."""


def ui(request: Request) -> UIContext:
    context: UIContext = request.app.state.ui
    return context


def session_of(request: Request) -> Session | None:
    return ui(request).sessions.from_cookie(request.cookies.get(COOKIE_NAME))


def visit(request: Request) -> Visit:
    """The logged-in visit, re-verifying the session's token (revocation ends it at once)."""
    session = session_of(request)
    if session is None or session.token is None:
        raise LoginRequired
    principal = ui(request).verify_token(session.token)
    if principal is None:
        ui(request).sessions.drop(session)
        raise LoginRequired
    return Visit(session, principal)


def check_role(current: Visit, role: str) -> None:
    """403 unless the visitor's role includes ``role``."""
    if not current.principal.allows(role):
        raise HTTPException(
            403, f"this needs the {role!r} role; you have {current.principal.role.value!r}"
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
        raise HTTPException(404, f"no service {text}") from None


def job_or_404(svc: TaskService, request: Request) -> Job:
    """The job named in the path, if it belongs to this service."""
    job_id: int = request.path_params["job_id"]
    try:
        return svc.job(job_id)
    except JobNotFoundError:
        raise HTTPException(404, f"no job {job_id} in {svc.ref}") from None


def url(request: Request, name: str, query: Mapping[str, Any] | None = None, **params: Any) -> str:
    """A root-relative URL (it includes the mount point), with an optional query string."""
    path = request.url_for(name, **params).path
    encoded = urlencode_query(query or {})
    return f"{path}?{encoded}" if encoded else path


def redirect(target: str) -> RedirectResponse:
    """303 See Other: after a POST the browser GETs the result page (post/redirect/get)."""
    return RedirectResponse(target, status_code=303)


def render(
    request: Request,
    current: Visit | None,
    name: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
    *,
    session: Session | None = None,
) -> Response:
    """Render a page; htmx refreshes get no flashes (the next full page shows them).

    ``session`` is for pages shown before a login, whose session may be brand new.
    """
    partial = request.headers.get("hx-request") == "true"
    if session is None:
        session = current.session if current is not None else session_of(request)
    values = {
        "visit": current,
        "principal": current.principal if current else None,
        "csrf": session.csrf if session is not None else "",
        "flashes": session.take_flashes() if session is not None and not partial else [],
        "refresh_seconds": ui(request).refresh_seconds,
        **(context or {}),
    }
    headers = {"Cache-Control": "no-store", "Vary": "HX-Request, Cookie"}
    return ui(request).templates.TemplateResponse(
        request, name, values, status_code=status, headers=headers
    )


FormHandler = Callable[[Request, Visit, FormData], Response]


def form_action(role: str) -> Callable[[FormHandler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a POST handler: logged in, same origin, valid CSRF token, at least ``role``."""

    def wrap(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = await request.form()
            try:
                current = await run_in_threadpool(visit, request)
                check_form(request, current.session, form)
                check_role(current, role)
                return await run_in_threadpool(handler, request, current, form)
            finally:
                await form.close()

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


def check_form(request: Request, session: Session, form: FormData) -> None:
    """403 unless the request comes from our own pages: same origin and this session's token."""
    if not same_origin(request.headers):
        raise HTTPException(403, "this form was sent from another site")
    token = form.get("csrf")
    if not csrf_matches(session, token if isinstance(token, str) else None):
        raise HTTPException(403, "the form's security token is missing or stale; reload the page")


def form_text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


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
    env.filters["when"] = when
    env.filters["pretty"] = pretty
    env.filters["short"] = short
    env.filters["urlencode_query"] = urlencode_query
    env.globals["detail_templates"] = detail_templates
    env.globals["url_for"] = _url_for
    return Jinja2Templates(env=env)


@jinja2.pass_context
def _url_for(context: Mapping[str, Any], name: str, /, **params: Any) -> str:
    return url(context["request"], name, **params)


def detail_templates(task: str) -> list[str]:
    """``<task>_detail.html`` first, then the generic one; odd task names get the generic."""
    specific = [f"{task}_detail.html"] if _TEMPLATE_NAME.fullmatch(task) else []
    return [*specific, "detail.html"]


def when(timestamp: float | None) -> str:
    """Epoch seconds as UTC wall time, to the second; a dash for none."""
    return utc_text(timestamp, none="—")


def short(value: Any, length: int = 60) -> str:
    """A JSON value on one line, cut to ``length`` characters for a table cell."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= length else text[: length - 1] + "…"


def urlencode_query(params: Mapping[str, Any]) -> str:
    """A query string from a mapping, leaving out empty values (for ``JobsView.query``)."""
    pairs = [(k, v) for k, v in params.items() if v not in (None, "", [])]
    return urlencode(pairs, doseq=True)


def pretty(value: Any) -> str:
    """A JSON value indented for a <pre> block (autoescaping makes it safe)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
