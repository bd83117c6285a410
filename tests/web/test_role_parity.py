"""One role table for every transport (issue 10, item 4).

Every JSON API route and every UI action names its ``Action``; for each, a token of
each role is tried for real: refused with 403 exactly when ``REQUIRED_ROLE`` says
its role is too weak, on the API and in the UI alike. The lists below must name
every route, so a new route cannot slip past the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from remotetask.auth import REQUIRED_ROLE, Action, Role
from remotetask.web import create_web_app
from tests.web.conftest import SITE1, Served

ROLE_TOKENS = {
    Role.READ: "read",
    Role.SUBMIT: "submit",
    Role.OPERATE: "operate",
    Role.ADMIN: "admin",
}
S = f"/api/v1/services/{SITE1}"
Job = Callable[[Served], int]


def queued(served: Served) -> int:
    return served.app.service(SITE1).add("echo", 1)


def errored(served: Served) -> int:
    svc = served.app.service(SITE1)
    job_id = svc.add("error")
    svc.process()
    return job_id


def parked(served: Served) -> int:
    return served.app.service(SITE1).add("echo", 1, start_later=True)


def cron(served: Served) -> int:
    return served.app.service(SITE1).add_cron_job("echo", 1, minute=(5,))


API: list[tuple[str, str, Any, Job | None, Action]] = [
    ("GET", "/api/v1/tasks", None, None, Action.READ),
    ("GET", "/api/v1/services", None, None, Action.READ),
    ("POST", "/api/v1/services", {"ref": "site1@New"}, None, Action.CREATE_SERVICE),
    ("GET", S, None, None, Action.READ),
    ("GET", S + "/tasks", None, None, Action.READ),
    ("POST", S + "/processing/start", None, None, Action.PROCESSING),
    ("POST", S + "/processing/stop", None, None, Action.PROCESSING),
    ("POST", S + "/clean", {}, None, Action.CLEAN),
    ("POST", S + "/cron-jobs", {"task": "echo", "minute": [1]}, None, Action.ADD_CRON),
    ("GET", S + "/cron-jobs", None, None, Action.READ),
    ("GET", S + "/cron-jobs/{job}", None, cron, Action.READ),
    ("PATCH", S + "/cron-jobs/{job}", {"minute": [2]}, cron, Action.CHANGE_CRON),
    ("POST", S + "/jobs", {"task": "echo"}, None, Action.ADD_JOB),
    ("GET", S + "/jobs", None, None, Action.READ),
    ("GET", S + "/jobs/{job}", None, queued, Action.READ),
    ("POST", S + "/jobs/{job}/cancel", None, queued, Action.CANCEL_JOB),
    ("POST", S + "/jobs/{job}/start", None, parked, Action.START_JOB),
    ("POST", S + "/jobs/{job}/retry", None, errored, Action.RETRY_JOB),
    ("DELETE", S + "/jobs/{job}", None, errored, Action.DELETE_JOB),
    ("POST", S + "/jobs/cancel-all", None, None, Action.CANCEL_ALL),
    ("GET", "/api/v1/tokens", None, None, Action.MANAGE_TOKENS),
    ("POST", "/api/v1/tokens", {"name": "x"}, None, Action.MANAGE_TOKENS),
    ("DELETE", "/api/v1/tokens/{job}", None, None, Action.MANAGE_TOKENS),
    ("GET", "/metrics", None, None, Action.READ),
]
U = f"/ui/services/{SITE1}"
UI: list[tuple[str, dict[str, str], Job | None, Action]] = [
    (U + "/processing", {"action": "start"}, None, Action.PROCESSING),
    (U + "/jobs/selected", {"action": "cancel", "ids": "{job}"}, queued, Action.CANCEL_JOB),
    (U + "/jobs/selected", {"action": "retry", "ids": "{job}"}, errored, Action.RETRY_JOB),
    (U + "/jobs/selected", {"action": "start", "ids": "{job}"}, parked, Action.START_JOB),
    (U + "/jobs/selected", {"action": "delete", "ids": "{job}"}, errored, Action.DELETE_JOB),
    (U + "/bulk", {"action": "cancel"}, None, Action.CANCEL_ALL),
    (U + "/bulk", {"action": "retry"}, None, Action.RETRY_ERRORED),
    (U + "/bulk", {"action": "remove-finished"}, None, Action.CLEAN),
    (U + "/add", {"task": "echo", "input": "1"}, None, Action.ADD_JOB),
    (U + "/errors", {"do": "retry", "task": "error", "pattern": "x"}, None, Action.RETRY_ERRORED),
    (U + "/errors", {"do": "remove", "task": "error", "pattern": "x"}, None, Action.CLEAN),
    (U + "/cron/new", {"task": "echo", "kind": "fields", "do": "save"}, None, Action.ADD_CRON),
    (U + "/jobs/{job}/cancel", {}, queued, Action.CANCEL_JOB),
    (U + "/jobs/{job}/retry", {}, errored, Action.RETRY_JOB),
    (U + "/jobs/{job}/start", {}, parked, Action.START_JOB),
    (U + "/jobs/{job}/delete", {}, errored, Action.DELETE_JOB),
    (U + "/jobs/{job}/run", {}, cron, Action.RUN_NOW),
    (U + "/jobs/{job}/pause", {}, cron, Action.PAUSE_CRON),
    (U + "/jobs/{job}/input", {"input": "2", "do": "clone"}, queued, Action.ADD_JOB),
    (U + "/jobs/{job}/input", {"input": "2", "do": "retry"}, errored, Action.RETRY_JOB),
    (U + "/jobs/{job}/edit", {"kind": "fields", "do": "save"}, cron, Action.CHANGE_CRON),
]
UI_GET_FORMS: list[tuple[str, Job | None, Action]] = [
    (U + "/cron/new", None, Action.ADD_CRON),
    (U + "/jobs/{job}/edit", cron, Action.CHANGE_CRON),
    (U + "/add", None, Action.ADD_JOB),
    (U + "/jobs/{job}/input", queued, Action.ADD_JOB),
    (U + "/bulk?action=remove-finished", None, Action.CLEAN),
    (U + "/processing/stop", None, Action.PROCESSING),
    (U + "/jobs/{job}/confirm?do=cancel", queued, Action.CANCEL_JOB),
    (U + "/jobs/{job}/confirm?do=delete", errored, Action.DELETE_JOB),
]


def _allowed(role: Role, action: Action) -> bool:
    return role.allows(REQUIRED_ROLE[action])


def test_the_lists_name_every_api_route_and_ui_action(served: Served) -> None:
    web = create_web_app(served.app)
    listed = {(method, path.replace(S, "/api/v1/services/{service}")) for method, path, *_ in API}
    for route in web.routes:
        if isinstance(route, APIRoute):
            actions = _actions(route.dependant)
            for method in route.methods:
                key = (
                    method,
                    route.path.replace("{job_id}", "{job}").replace("{token_id}", "{job}"),
                )
                if actions:
                    assert key in listed, f"{key} has no entry in the parity list"
                    (expected,) = {
                        a
                        for m, p, *_, a in API
                        if (m, p.replace(S, "/api/v1/services/{service}")) == key
                    }
                    assert actions == {expected}, key
    ui = next(r for r in web.routes if isinstance(r, Mount) and r.path == "/ui")
    posted = {r.path for r in ui.routes if "POST" in getattr(r, "methods", ())}
    named = {
        re.sub(r"/services/[^/]+", "/services/{service}", p).removeprefix("/ui") for p, *_ in UI
    }
    named = {p.replace("{job}", "{job_id}") for p in named}
    assert posted - {"/login", "/logout"} == named


def _actions(dependant: Any) -> set[Action]:
    found: set[Action] = set()
    for dep in dependant.dependencies:
        if hasattr(dep.call, "action"):
            found.add(dep.call.action)
        found |= _actions(dep)
    return found


@pytest.mark.parametrize(("method", "path", "body", "make", "action"), API)
def test_the_api_refuses_exactly_the_roles_the_table_refuses(
    served: Served, method: str, path: str, body: Any, make: Job | None, action: Action
) -> None:
    for role, name in ROLE_TOKENS.items():
        target = path.replace("{job}", str(make(served) if make else 999999))
        with served.http(name) as http:
            response = http.request(method, target, json=body)
        refused = response.status_code == 403
        assert refused is not _allowed(role, action), (role, response.status_code, response.text)


def _ui_session(served: Served, name: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=served.url, timeout=30)
    page = http.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    http.post("/ui/login", data={"csrf": csrf.group(1), "token": served.tokens[name]})
    home = http.get("/ui/")
    found = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert found is not None
    return http, found.group(1)


def test_the_ui_refuses_exactly_the_roles_the_table_refuses(served: Served) -> None:
    for role, name in ROLE_TOKENS.items():
        http, csrf = _ui_session(served, name)
        try:
            for path, form, make, action in UI:
                job = str(make(served)) if make else "999999"
                data = {k: v.replace("{job}", job) for k, v in {**form, "csrf": csrf}.items()}
                response = http.post(path.replace("{job}", job), data=data)
                refused = response.status_code == 403
                assert refused is not _allowed(role, action), (
                    role,
                    path,
                    form,
                    response.status_code,
                )
            for path, make, action in UI_GET_FORMS:
                job = str(make(served)) if make else "999999"
                response = http.get(path.replace("{job}", job))
                refused = response.status_code == 403
                assert refused is not _allowed(role, action), (role, path, response.status_code)
        finally:
            http.close()
