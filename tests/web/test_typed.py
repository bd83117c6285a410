"""Typed tasks over the wire: 422 problems by field, XML-RPC faults, published schemas."""

from __future__ import annotations

import xmlrpc.client

import pytest

from remotetask.errors import FieldError, InvalidInputError
from tests.integration.test_typed_tasks import Resize, Size
from tests.web.conftest import SITE1, Served
from tests.web.test_xmlrpc import proxy

JOBS = f"/api/v1/services/{SITE1}/jobs"


@pytest.fixture
def typed(served: Served) -> Served:
    @served.app.task
    def resize(input: Resize) -> Size:
        """Scale an image."""
        return Size(width=input.width, height=input.height)

    return served


def test_the_json_api_answers_422_with_the_fields_at_fault(typed: Served) -> None:
    with typed.http() as http:
        answer = http.post(JOBS, json={"task": "resize", "input": {"width": 0, "height": "x"}})
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["code"] == "invalid-input"
        assert problem["detail"].startswith("the input of task 'resize' is not valid: path:")
        assert problem["errors"] == [
            {"pointer": "body/input/path", "detail": "Field required", "loc": ["path"]},
            {
                "pointer": "body/input/width",
                "detail": "Input should be greater than 0",
                "loc": ["width"],
            },
            {
                "pointer": "body/input/height",
                "detail": "Input should be a valid integer, unable to parse string as an integer",
                "loc": ["height"],
            },
        ]
        cron = http.post(
            f"/api/v1/services/{SITE1}/cron-jobs",
            json={"task": "resize", "input": {"path": 1}, "minute": [0]},
        )
        assert cron.status_code == 422
        assert cron.json()["errors"][0]["pointer"] == "body/input/path"
        delayed = http.post(JOBS, json={"task": "resize", "input": {}, "delay": 5})
        assert delayed.status_code == 422
        assert http.get(JOBS).json()["items"] == []


def test_a_valid_input_is_stored_as_its_type_encodes_it(typed: Served) -> None:
    with typed.http() as http:
        headers = {"Idempotency-Key": "resize-1"}
        body = {"task": "resize", "input": {"path": "a.png", "width": "640"}}
        first = http.post(JOBS, json=body, headers=headers)
        assert first.status_code == 201, first.text
        assert first.json()["input"] == {"path": "a.png", "width": 640, "height": 100}
        again = {"task": "resize", "input": {"path": "a.png", "width": 640, "height": 100}}
        repeated = http.post(JOBS, json=again, headers=headers)
        assert repeated.status_code == 201, repeated.text
        assert repeated.json()["id"] == first.json()["id"]
        other = {"task": "resize", "input": {"path": "b.png", "width": 640}}
        mismatch = http.post(JOBS, json=other, headers=headers)
        assert mismatch.json()["code"] == "idempotency-mismatch"
    typed.app.service(SITE1).process()
    assert typed.app.service(SITE1).result(first.json()["id"]) == {"width": 640, "height": 100}


def test_task_listings_and_the_openapi_document_carry_the_schemas(typed: Served) -> None:
    with typed.http("read") as http:
        tasks = {t["name"]: t for t in http.get("/api/v1/tasks").json()}
        assert tasks["resize"]["description"] == "Scale an image."
        assert tasks["resize"]["input_schema"]["required"] == ["path", "width"]
        assert tasks["resize"]["result_schema"]["required"] == ["width", "height"]
        assert tasks["echo"]["input_schema"] is None
        assert tasks["echo"]["result_schema"] is None
        listed = http.get(f"/api/v1/services/{SITE1}/tasks").json()
        assert [t for t in listed if t["name"] == "resize"] == [tasks["resize"]]
        document = http.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert document["x-remotetask-tasks"]["resize"] == {
        "input": {"$ref": "#/components/schemas/TaskInput.resize"},
        "result": {"$ref": "#/components/schemas/TaskResult.resize"},
    }
    assert "echo" not in document["x-remotetask-tasks"]
    assert schemas["TaskInput.resize"] == {"$ref": "#/components/schemas/TaskModel.Resize"}
    assert schemas["TaskModel.Resize"]["required"] == ["path", "width"]
    assert schemas["TaskResult.resize"] == {"$ref": "#/components/schemas/TaskModel.Size"}
    assert "JobIn" in schemas  # FastAPI's own shapes are still there

    @typed.app.task
    def later(input: list[int]) -> None:
        """Registered after the document was first built."""

    with typed.http("read") as http:
        rebuilt = http.get("/openapi.json").json()
    assert rebuilt["components"]["schemas"]["TaskInput.later"] == {
        "items": {"type": "integer"},
        "type": "array",
    }


def test_xmlrpc_answers_a_fault(typed: Served) -> None:
    with proxy(typed) as service, pytest.raises(xmlrpc.client.Fault) as fault:
        service.add("resize", {"path": "a.png", "width": -3})
    assert fault.value.faultCode == 422
    assert "width: Input should be greater than 0" in fault.value.faultString
    assert typed.app.service(SITE1).counts() == {}


def test_the_client_has_the_schemas_and_the_same_field_errors(typed: Served) -> None:
    local = typed.app.service(SITE1)
    with typed.client() as client:
        remote = client.service(SITE1)
        tasks = remote.available_tasks()
        assert tasks["resize"].input_schema == typed.app.tasks["resize"].input_schema
        assert tasks["resize"].result_schema == typed.app.tasks["resize"].result_schema
        assert tasks["echo"].input_schema is None
        bad = {"path": ["not", "a", "string"], "width": 2}
        refusals = []
        for service in (local, remote):
            with pytest.raises(InvalidInputError) as refused:
                service.add("resize", bad)
            refusals.append(refused.value)
        assert (
            refusals[0].errors
            == refusals[1].errors
            == (FieldError(("path",), "Input should be a valid string"),)
        )
        assert str(refusals[0]) == str(refusals[1])
        with pytest.raises(InvalidInputError) as malformed:
            remote.add("resize", {"path": "a.png", "width": 1}, start_later=[1])  # type: ignore[arg-type]
        assert malformed.value.errors[0].loc == ("body", "start_later")
