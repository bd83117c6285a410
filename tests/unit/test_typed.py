"""Typed tasks as values: which annotations make a task typed, its schemas, its codecs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

import remotetask
from remotetask.errors import FieldError, InvalidInputError
from remotetask.tasks import Task

ROOT = Path(__file__).resolve().parents[2]


class Resize(BaseModel):
    path: str
    width: int = Field(gt=0)
    height: int = 100


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Person(TypedDict):
    name: str
    age: int


class Opaque:
    """A class pydantic knows nothing about."""


def test_unannotated_any_and_object_inputs_are_untyped() -> None:
    def bare(input):  # type: ignore[no-untyped-def]
        return input

    def any_(input: Any) -> Any:
        return input

    def object_(input: object) -> object:
        return input

    for func in (bare, any_, object_):
        task = Task("t", func)
        assert task.input_codec is None
        assert task.result_codec is None
        assert task.input_schema is None
        assert task.result_schema is None
        assert task.encode_input({"any": [1, "json"]}) == '{"any":[1,"json"]}'


def test_a_result_annotated_none_needs_no_codec_and_no_pydantic() -> None:
    def returns_nothing(input: object) -> None:
        return None

    task = Task("t", returns_nothing)
    assert task.result_codec is None
    assert task.result_schema is None
    script = (
        "import sys, remotetask\n"
        "app = remotetask.App('sqlite://')\n"
        "@app.task\n"
        "def quiet(input: object) -> None: pass\n"
        "print('pydantic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_model_input_is_checked_encoded_and_decoded() -> None:
    def resize(input: Resize) -> None: ...

    task = Task("resize", resize)
    assert task.encode_input({"path": "a.png", "width": "640"}) == (
        '{"path":"a.png","width":640,"height":100}'
    )
    assert task.encode_input(Resize(path="b.png", width=1)) == (
        '{"path":"b.png","width":1,"height":100}'
    )
    decoded = task.decode_input({"path": "a.png", "width": 640, "height": 100})
    assert decoded == Resize(path="a.png", width=640)
    with pytest.raises(InvalidInputError) as refused:
        task.encode_input({"width": 0, "height": "tall"})
    assert refused.value.errors == (
        FieldError(("path",), "Field required"),
        FieldError(("width",), "Input should be greater than 0"),
        FieldError(
            ("height",), "Input should be a valid integer, unable to parse string as an integer"
        ),
    )
    assert "the input of task 'resize' is not valid: path: Field required" in str(refused.value)
    assert isinstance(refused.value, ValueError)


def test_dataclass_typeddict_and_plain_inputs() -> None:
    def move(input: Point) -> None: ...

    def greet(input: Person) -> None: ...

    def count(input: list[int]) -> None: ...

    assert Task("move", move).decode_input({"x": 1, "y": 2.5}) == Point(1.0, 2.5)
    assert Task("greet", greet).decode_input({"name": "Ada", "age": 36}) == {
        "name": "Ada",
        "age": 36,
    }
    with pytest.raises(InvalidInputError) as refused:
        Task("greet", greet).encode_input({"name": "Ada"})
    assert refused.value.errors == (FieldError(("age",), "Field required"),)
    with pytest.raises(InvalidInputError) as refused:
        Task("count", count).encode_input([1, "two", 3])
    assert refused.value.errors[0].loc == (1,)
    assert refused.value.errors[0].path == "1"


def test_the_input_of_a_context_task_is_its_second_parameter() -> None:
    def scaled(ctx: remotetask.JobContext, input: int) -> int:
        return input

    task = Task("scaled", scaled, context=True)
    assert task.input_schema == {"type": "integer"}
    with pytest.raises(InvalidInputError):
        task.encode_input("many")


def test_results_are_checked_and_encoded_by_their_type() -> None:
    def when(input: object) -> dt.datetime:
        return dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)

    def point(input: object) -> Point:
        return Point(1, 2)

    def wrong(input: object) -> int:
        return "not a number"  # type: ignore[return-value]

    assert Task("when", when).encode_result(when(None)) == '"2024-05-01T12:00:00Z"'
    assert Task("point", point).encode_result(point(None)) == '{"x":1.0,"y":2.0}'
    assert Task("point", point).encode_result({"x": 3, "y": 4}) == '{"x":3.0,"y":4.0}'
    with pytest.raises(InvalidInputError, match="the result of task 'wrong' is not valid"):
        Task("wrong", wrong).encode_result("not a number")


def test_schemas_describe_input_and_result() -> None:
    def resize(input: Resize) -> dict[str, int]:
        return {}

    task = Task("resize", resize)
    assert task.input_schema is not None
    assert task.input_schema["required"] == ["path", "width"]
    assert task.input_schema["properties"]["width"] == {
        "exclusiveMinimum": 0,
        "title": "Width",
        "type": "integer",
    }
    assert task.result_schema == {"additionalProperties": {"type": "integer"}, "type": "object"}


def test_an_unresolvable_annotation_is_refused_at_registration() -> None:
    app = remotetask.App("sqlite://")

    def broken(input: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        ...

    with pytest.raises(TypeError, match="cannot read the annotations of task 'broken'"):
        app.register("broken", broken)
    assert "broken" not in app.tasks

    def opaque(input: Opaque) -> None: ...

    with pytest.raises(TypeError, match="the input of task 'opaque'"):
        app.register("opaque", opaque)


def test_import_and_untyped_tasks_work_without_pydantic(tmp_path: Path) -> None:
    """pydantic comes with the server extra: the core must not need it."""
    script = f"""
import sys
class NoPydantic:
    def find_spec(self, name, path=None, target=None):
        if name == "pydantic" or name.startswith("pydantic."):
            raise ImportError("pydantic is not installed")
sys.meta_path.insert(0, NoPydantic())
import remotetask
app = remotetask.App("sqlite:///{tmp_path / "jobs.db"}")
app.register("echo", lambda input: input)
service = app.add_service("a@B")
job = service.add("echo", {{"x": 1}})
service.process()
assert service.result(job) == {{"x": 1}}
def typed(input: int) -> int:
    return input
try:
    app.register("typed", typed)
except TypeError as exc:
    print(exc)
assert "pydantic" not in sys.modules
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "typed tasks need pydantic: pip install 'remotetask[typed]'" in done.stdout
