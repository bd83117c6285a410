"""Typed task inputs and results: the one module that talks to pydantic.

A task whose input parameter or return value is annotated gets a ``Codec`` for
each: it checks a value against the type (``InvalidInputError`` listing the
fields at fault), turns the stored JSON back into the typed object, encodes a
typed value as JSON, and describes the type as JSON Schema. An annotation of
``Any`` or ``object``, or none at all, means any JSON value, as before; a result
annotated ``None`` is stored as it comes (a null), without pydantic.

pydantic is imported here only, and only when a task is annotated, so
``import remotetask`` and untyped tasks work without it (it comes with the
``server`` extra; ``pip install 'remotetask[typed]'`` brings it alone).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from remotetask import jsonvalue
from remotetask.errors import FieldError, InvalidInputError

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

Mode = Literal["validation", "serialization"]
MAX_LISTED = 5
"""How many field errors an error message spells out (``errors`` has them all)."""
_UNTYPED = (Any, object, inspect.Parameter.empty)


class Codec:
    """One annotated type: validate to it, encode from it, describe it."""

    def __init__(self, annotation: Any, what: str) -> None:
        pydantic = _pydantic(what)
        try:
            self._adapter: TypeAdapter[Any] = pydantic.TypeAdapter(annotation)
        except pydantic.PydanticUserError as exc:  # an annotation pydantic cannot check
            raise TypeError(f"{what}: {exc}") from None
        self._what = what
        self._invalid = pydantic.ValidationError

    def __repr__(self) -> str:
        return f"<Codec {self._what}>"

    def validate(self, value: Any) -> Any:
        """The typed object for ``value``: JSON data is read as JSON, objects as they are."""
        try:
            text = jsonvalue.dumps(value, self._what)
        except InvalidInputError:  # a model instance, a datetime: check it as an object
            return self._check(self._adapter.validate_python, value)
        return self._check(self._adapter.validate_json, text)

    def encode(self, value: Any) -> str:
        """``value`` checked against the type and encoded as compact JSON."""
        typed = self._check(self._adapter.validate_python, value)
        return jsonvalue.checked(self._adapter.dump_json(typed).decode("utf-8"), self._what)

    def decode(self, text: str) -> Any:
        """The typed object for JSON text this codec encoded (a stored input)."""
        return self._check(self._adapter.validate_json, text)

    @functools.cached_property
    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of what this type accepts."""
        return self._adapter.json_schema(mode="validation")

    @functools.cached_property
    def output_schema(self) -> dict[str, Any]:
        """The JSON Schema of what this type encodes to."""
        return self._adapter.json_schema(mode="serialization")

    def _check(self, validate: Callable[[Any], Any], value: Any) -> Any:
        try:
            return validate(value)
        except self._invalid as exc:
            raise _invalid(self._what, exc) from None


def codecs(func: Callable[..., Any], context: bool, name: str) -> tuple[Codec | None, Codec | None]:
    """The codecs of a task's input parameter and of its result (None: any JSON value).

    The input is the first positional parameter, or the second for a context task.
    String annotations are resolved against the function's module; one that cannot
    be resolved, or that pydantic cannot check, is a TypeError at registration.
    """
    try:
        signature = inspect.signature(func, eval_str=True)
    except ValueError:  # a builtin without a signature: nothing is declared
        return None, None
    except Exception as exc:
        raise TypeError(f"cannot read the annotations of task {name!r}: {exc}") from None
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    index = 1 if context else 0
    given = positional[index].annotation if len(positional) > index else Any
    returned = signature.return_annotation
    # ``-> None`` declares that nothing comes back: its null needs no pydantic at all.
    nothing = returned is None or returned is type(None)
    return (
        None if _untyped(given) else Codec(given, f"the input of task {name!r}"),
        None if nothing or _untyped(returned) else Codec(returned, f"the result of task {name!r}"),
    )


def openapi_schemas(
    described: Iterable[tuple[str, Codec, Mode]], prefix: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Schemas for an OpenAPI document: each key's schema, and the shared definitions.

    Definitions are named ``<prefix><Model>`` and referenced in
    ``#/components/schemas``, so models shared by several tasks appear once.
    """
    entries = [(key, mode, codec._adapter) for key, codec, mode in described]
    if not entries:
        return {}, {}
    pydantic = _pydantic("an OpenAPI document")
    by_key, defs = pydantic.TypeAdapter.json_schemas(
        entries, ref_template=f"#/components/schemas/{prefix}{{model}}"
    )
    schemas = {key: schema for (key, _), schema in by_key.items()}
    definitions = {prefix + name: value for name, value in defs.get("$defs", {}).items()}
    return schemas, definitions


def _untyped(annotation: Any) -> bool:
    return any(annotation is plain for plain in _UNTYPED)


def _invalid(what: str, exc: ValidationError) -> InvalidInputError:
    errors = [
        FieldError(tuple(error["loc"]), error["msg"])
        for error in exc.errors(include_url=False, include_input=False)
    ]
    listed = "; ".join(f"{e.path or '(the whole value)'}: {e.message}" for e in errors[:MAX_LISTED])
    more = f" (and {len(errors) - MAX_LISTED} more)" if len(errors) > MAX_LISTED else ""
    return InvalidInputError(f"{what} is not valid: {listed}{more}", errors)


def _pydantic(what: str) -> Any:
    try:
        import pydantic
    except ImportError:
        raise TypeError(
            f"{what} is annotated, and typed tasks need pydantic: "
            "pip install 'remotetask[typed]' (or annotate it as Any)"
        ) from None
    return pydantic
