"""Typed tasks on every backend: refused before anything is stored, typed when they run."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from pydantic import BaseModel, Field

import remotetask
from remotetask import App, TaskService
from remotetask.errors import FieldError, InvalidInputError


class Resize(BaseModel):
    path: str
    width: int = Field(gt=0)
    height: int = 100


class Size(BaseModel):
    width: int
    height: int


@dataclasses.dataclass
class Stamp:
    at: dt.datetime
    note: str = ""


def register_typed(app: App, seen: list[object]) -> None:
    @app.task
    def resize(input: Resize) -> Size:
        seen.append(input)
        return Size(width=input.width, height=input.height)

    @app.task(context=True)
    def stamp(ctx: remotetask.JobContext, input: Stamp) -> dt.datetime:
        seen.append(input)
        return input.at + dt.timedelta(days=ctx.attempts)


@pytest.fixture
def seen(app: App) -> list[object]:
    received: list[object] = []
    register_typed(app, received)
    return received


def test_invalid_input_is_refused_with_field_errors_and_nothing_is_stored(
    service: TaskService, seen: list[object]
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        service.add("resize", {"path": "a.png", "width": -1})
    assert refused.value.errors == (FieldError(("width",), "Input should be greater than 0"),)
    with pytest.raises(InvalidInputError):
        service.add("resize", "not an object", start_later=True)
    with pytest.raises(InvalidInputError):
        service.add_cron_job("resize", {"width": 5}, minute=[0])
    with pytest.raises(InvalidInputError):
        service.add_cron_job("resize", {"path": 3, "width": 5}, delay=10)
    assert len(service.jobs) == 0
    assert service.process() == 0


def test_a_typed_input_is_held_to_the_same_size_limit_as_any_other(
    service: TaskService, seen: list[object]
) -> None:
    huge = Resize(path="x" * (1024 * 1024), width=1)  # an object, not JSON: encoded by its type
    with pytest.raises(InvalidInputError, match="the limit is"):
        service.add("resize", huge)
    assert len(service.jobs) == 0


def test_add_many_checks_every_input_first(service: TaskService, seen: list[object]) -> None:
    good = {"path": "a.png", "width": 1}
    with pytest.raises(InvalidInputError) as refused:
        service.add_many("resize", [good, good, {"path": "c.png"}])
    assert refused.value.errors == (FieldError((2, "width"), "Field required"),)
    assert str(refused.value).startswith("input 2: the input of task 'resize' is not valid")
    assert len(service.jobs) == 0
    assert len(service.add_many("resize", [good, good])) == 2


def test_the_task_receives_the_typed_object_and_its_result_is_encoded(
    service: TaskService, seen: list[object]
) -> None:
    job_id = service.add("resize", {"path": "a.png", "width": "640"})
    assert service.job(job_id).input == {"path": "a.png", "width": 640, "height": 100}
    from_model = service.add("resize", Resize(path="b.png", width=2, height=3))
    assert service.process() == 2
    assert seen == [Resize(path="a.png", width=640), Resize(path="b.png", width=2, height=3)]
    assert service.result(job_id) == {"width": 640, "height": 100}
    assert service.result(from_model) == {"width": 2, "height": 3}


def test_a_dataclass_input_and_a_datetime_result(service: TaskService, seen: list[object]) -> None:
    job_id = service.add("stamp", {"at": "2024-05-01T12:00:00Z"})
    service.process()
    assert seen == [Stamp(dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC))]
    assert service.result(job_id) == "2024-05-02T12:00:00Z"


def test_a_result_of_the_wrong_type_fails_the_job_without_retry(
    app: App, service: TaskService
) -> None:
    calls: list[int] = []

    @app.task
    def count(input: object) -> int:
        calls.append(1)
        return "many"  # type: ignore[return-value]

    job_id = service.add("count")
    service.process()
    job = service.job(job_id)
    assert job.status == remotetask.ERROR
    assert job.error is not None
    assert job.error.startswith("the result of task 'count' is not valid")
    assert calls == [1]


def test_a_stored_input_the_task_no_longer_accepts_fails_its_job(reopenable_url: str) -> None:
    first = App(reopenable_url, settings=remotetask.Settings(auto_migrate=True))
    first.register("shape", lambda input: input)
    job_id = first.add_service("a@B").add("shape", {"sides": "three"})
    first.close()

    def shape(input: dict[str, int]) -> int:
        return sum(input.values())

    later = App(reopenable_url)
    later.register("shape", shape)
    service = later.service("a@B")
    service.process()
    job = service.job(job_id)
    assert job.status == remotetask.ERROR
    assert job.error is not None
    assert "sides: Input should be a valid integer" in job.error
    assert job.attempts == 1
    later.close()
