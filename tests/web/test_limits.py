"""One depth and size limit for JSON values at every way in; lone surrogates; strict types.

Issue 10, items 2, 5 and 16: a value nested too deeply or too large is refused
by the JSON API, XML-RPC, the Python API, the client and CLI, the UI's forms,
and as a task's result; a lone UTF-16 surrogate is a 4xx wherever JSON
arrives; a string is never taken for a boolean.
"""

from __future__ import annotations

import json
import re
import xmlrpc.client
from typing import Any

import httpx
import pytest

import remotetask
from remotetask import jsonvalue
from tests.web.conftest import SITE1, Served
from tests.web.test_xmlrpc import proxy

JOBS = f"/api/v1/services/{SITE1}/jobs"
SERVICE = f"/api/v1/services/{SITE1}"


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = [value]
    return [value] if depth else value


TOO_DEEP = nested(jsonvalue.MAX_DEPTH + 1)
TOO_BIG = "x" * (jsonvalue.MAX_BYTES + 1)


def test_the_limits_are_the_same_for_python_and_results(served: Served) -> None:
    service = served.app.service(SITE1)
    service.add("echo", nested(jsonvalue.MAX_DEPTH))  # the limit itself is fine
    for value in (TOO_DEEP, TOO_BIG, "\ud800", {"\udc00": 1}):
        with pytest.raises(remotetask.InvalidInputError):
            service.add("echo", value)
        with pytest.raises(remotetask.InvalidInputError):
            service.add_cron_job("echo", value, delay=60)
    served.app.register("deep", lambda _: TOO_DEEP)
    job_id = service.add("deep")
    service.process()
    job = service.job(job_id)
    assert job.status == "error"
    assert "nested deeper than 32" in (job.error or "")


def test_the_json_api_refuses_deep_big_and_surrogate_values(served: Served) -> None:
    deep = json.dumps({"task": "echo", "input": nested(40)})
    with served.http() as http:
        for body in (
            deep,
            '{"task": "echo", "input": "\\ud800"}',
            '{"task": "echo", "\\udfff": 1}',
        ):
            answer = http.post(JOBS, content=body, headers={"Content-Type": "application/json"})
            assert answer.status_code == 400, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
    assert len(served.app.service(SITE1).jobs) == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/jobs", '{"task": "echo", "input": {"\\ud800": "x"}}'),
        ("POST", "/jobs", '{"task": "echo", "input": "a\\udc00b", "delay": 5}'),
        ("POST", "/cron-jobs", '{"task": "echo", "input": ["\\ud800"], "minute": [1]}'),
        ("POST", "/cron-jobs", '{"task": "echo", "cron": "* * * * *", "timezone": "\\ud800"}'),
        ("POST", "/clean", '{"statuses": ["\\ud800"]}'),
        ("POST", "/jobs/bulk", '{"task": "echo", "inputs": ["\\udbff"]}'),
        ("POST", "../../tokens", '{"name": "x", "sites": ["\\ud800"]}'),
    ],
)
def test_a_lone_surrogate_is_a_client_error_everywhere(
    served: Served, method: str, path: str, body: str
) -> None:
    with served.http() as http:
        answer = http.request(
            method, SERVICE + path, content=body, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code in (400, 422), answer.text
    assert "surrogate" in answer.json()["detail"]


def test_xmlrpc_refuses_what_the_json_api_refuses(served: Served) -> None:
    with proxy(served) as service:
        for value in (TOO_DEEP, {"k": nested(jsonvalue.MAX_DEPTH)}):
            with pytest.raises(xmlrpc.client.Fault) as fault:
                service.add("echo", value)
            assert fault.value.faultCode == 422
            assert "nested deeper" in fault.value.faultString
    assert len(served.app.service(SITE1).jobs) == 0


def test_the_client_refuses_before_sending(served: Served) -> None:
    with served.client() as client:
        service = client.service(SITE1)
        for value in (TOO_DEEP, "\ud800"):
            with pytest.raises(remotetask.InvalidInputError):
                service.add("echo", value)


def test_the_ui_cron_form_refuses_a_too_deep_input(served: Served) -> None:
    with httpx.Client(base_url=served.url, follow_redirects=True) as browser:
        page = browser.get("/ui/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        browser.post("/ui/login", data={"token": served.tokens["admin"], "csrf": csrf.group(1)})
        form = browser.get(f"/ui/services/{SITE1}/cron/new")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        answer = browser.post(
            f"/ui/services/{SITE1}/cron/new",
            data={
                "csrf": csrf.group(1),
                "task": "echo",
                "kind": "delay",
                "delay": "60",
                "input": json.dumps(nested(40)),
                "do": "save",
            },
        )
    assert answer.status_code < 500, answer.text
    assert len(served.app.service(SITE1).jobs) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"task": "echo", "start_later": "yes"},
        {"task": "echo", "start_later": 1},
        {"task": "echo", "delay": "5"},
        {"task": 7},
    ],
)
def test_request_fields_are_strictly_typed(served: Served, body: dict[str, Any]) -> None:
    with served.http() as http:
        answer = http.post(JOBS, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation"
    assert len(served.app.service(SITE1).jobs) == 0
