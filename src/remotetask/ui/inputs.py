"""Job inputs typed into forms: strict JSON, and forms built from a task's input schema.

A task with a JSON Schema for its input (an object with properties) gets one field
per property: text, number, a checkbox, a choice for an ``enum``, and a small JSON
box for anything else. A task without one gets a JSON editor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from starlette.datastructures import FormData

from remotetask import jsonvalue
from remotetask.tasks import Task

MAX_TEXT: Final = jsonvalue.MAX_BYTES


def parse_json(text: str) -> Any:
    """A JSON value typed into a form, read by ``jsonvalue.parse``'s strict rules.

    Raises ValueError (InvalidInputError) with a message for people; an empty text is
    ``null``. Text over ``MAX_TEXT`` characters is refused before it is parsed.
    """
    if len(text) > MAX_TEXT:
        raise ValueError(f"the input is longer than {MAX_TEXT:,} characters")
    if not text.strip():
        return None
    return jsonvalue.parse(text, "input")


def input_schema(task: Task) -> Mapping[str, Any] | None:
    """The task's input JSON Schema when it has one (the one place that reads it)."""
    schema = getattr(task, "input_schema", None)
    return schema if isinstance(schema, Mapping) else None


@dataclass(frozen=True)
class Field:
    """One form field for one property of an object schema."""

    name: str
    kind: str
    """``text``, ``integer``, ``number``, ``boolean``, ``choice`` or ``json``."""
    required: bool
    title: str
    description: str
    choices: tuple[str, ...] = ()
    default: str = ""


def schema_fields(schema: Mapping[str, Any] | None) -> list[Field] | None:
    """Form fields for an object schema with properties; None when a JSON editor is better."""
    if schema is None or schema.get("type") != "object":
        return None
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return None
    required = set(schema.get("required") or ())
    fields = []
    for name, spec in properties.items():
        spec = spec if isinstance(spec, Mapping) else {}
        kind = _KINDS.get(str(spec.get("type")), "json")
        choices: tuple[str, ...] = ()
        if isinstance(spec.get("enum"), list) and all(isinstance(v, str) for v in spec["enum"]):
            kind, choices = "choice", tuple(spec["enum"])
        default = spec.get("default")
        shown = (
            ""
            if default is None
            else (default if isinstance(default, str) else json.dumps(default))
        )
        fields.append(
            Field(
                str(name),
                kind,
                name in required,
                str(spec.get("title") or name),
                str(spec.get("description") or ""),
                choices,
                shown,
            )
        )
    return fields


_KINDS = {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean"}


def value_from_form(fields: list[Field], form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The input object the fields describe, and an error message per wrong field."""
    value: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        raw = form.get(f"field-{field.name}")
        text = raw.strip() if isinstance(raw, str) else ""
        if field.kind == "boolean":
            value[field.name] = raw is not None
            continue
        if not text:
            if field.required:
                errors[field.name] = f"{field.title} is required"
            continue
        try:
            value[field.name] = _typed(field, text)
        except ValueError as exc:
            errors[field.name] = f"{field.title}: {exc}"
    return value, errors


def _typed(field: Field, text: str) -> Any:
    if field.kind == "integer":
        if not text.lstrip("-").isascii() or not text.lstrip("-").isdigit() or len(text) > 18:
            raise ValueError("give a whole number")
        return int(text)
    if field.kind == "number":
        try:
            number = float(text) if text.isascii() else float("nan")
        except ValueError:
            number = float("nan")
        if number != number or abs(number) == float("inf"):
            raise ValueError("give a number")
        return number
    if field.kind == "choice" and text not in field.choices:
        raise ValueError(f"choose one of {', '.join(field.choices)}")
    if field.kind == "json":
        return parse_json(text)
    return text
