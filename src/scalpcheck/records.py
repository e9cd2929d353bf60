"""Typed records to and from JSON: the frozen dataclasses that cross a file or an HTTP boundary.

Pydantic validates a dict against a record's type hints, so a damaged or outdated file is refused with
the path of every field that is missing or wrong, and a record is written back as plain JSON data.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")


class RecordError(ValueError):
    """A dict that is not a valid record; the message names each wrong or missing field."""


_ADAPTERS: dict[Any, TypeAdapter] = {}


def _adapter(cls: Any) -> TypeAdapter:
    """One adapter per type: building one compiles a validator, which a hot path must not redo."""
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def to_dict(record: Any, exclude_none: bool = False) -> dict[str, Any]:
    """The record as JSON data (tuples as lists), optionally without the fields that are None."""
    return _adapter(type(record)).dump_python(record, mode="json", exclude_none=exclude_none)


def from_dict(cls: type[T], data: Any, what: str) -> T:
    """`data` checked and converted to `cls`; raises RecordError naming `what` and every bad field."""
    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg'].lower()}"
            for error in exc.errors()
        )
        raise RecordError(f"{what}: {problems}") from None
