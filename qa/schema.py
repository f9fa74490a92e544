"""A small validator for the JSON files qa reads back (an index's manifest, config.json).

Hand-written rather than a dependency: the two schemas are a few lines each, and what is
needed is one thing a general library makes roundabout, a one-line error that names the
field (`files["a.txt"].size: expected an integer, got "12"`). A schema is built from:

  int, float, str, bool   the JSON type (bool is never an int; an int is a float)
  object                  anything
  Hex64                   a lower-case sha256 in hex
  Number(lo, hi)          an int or float within [lo, hi] (either end None: open)
  Integer(lo, hi)         likewise, an int
  Obj({...}, extra=False, required=True)
                          an object with these keys (extra=True allows others,
                          required=False lets any of them be missing)
  MapOf(schema)           an object whose values all match `schema`
  ListOf(schema)          a list whose items all match `schema`
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any


class SchemaError(ValueError):
    """A value does not match its schema; `str()` names the field."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where or 'the top level'}: {problem}")
        self.where = where
        self.problem = problem


@dataclass(frozen=True)
class Number:
    lo: float | None = None
    hi: float | None = None
    integer: bool = False


def Integer(lo: int | None = None, hi: int | None = None) -> Number:
    return Number(lo, hi, integer=True)


class Hex64:
    """Marker: a sha256 in lower-case hex."""


@dataclass(frozen=True)
class Obj:
    fields: dict[str, Any]
    extra: bool = False
    required: bool = True


@dataclass(frozen=True)
class MapOf:
    values: Any


@dataclass(frozen=True)
class ListOf:
    items: Any


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if key.isidentifier() else f"{where}[{json.dumps(key, ensure_ascii=True)}]"


def validate(value: Any, schema: Any, where: str = "") -> None:
    """Raise SchemaError naming the first field of `value` that does not match `schema`."""
    if schema is object:
        return
    if schema is bool:
        if not isinstance(value, bool):
            raise SchemaError(where, f"expected true or false, got {_shown(value)}")
    elif schema is int or schema is float or isinstance(schema, Number):
        integer = schema is int or (isinstance(schema, Number) and schema.integer)
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or (isinstance(value, float) and not math.isfinite(value)):
            raise SchemaError(where, f"expected {'an integer' if integer else 'a number'}, got {_shown(value)}")
        if isinstance(schema, Number):
            if (schema.lo is not None and value < schema.lo) or (schema.hi is not None and value > schema.hi):
                bounds = (
                    f"between {schema.lo} and {schema.hi}" if schema.lo is not None and schema.hi is not None
                    else f"at least {schema.lo}" if schema.lo is not None else f"at most {schema.hi}"
                )
                raise SchemaError(where, f"must be {bounds}, got {_shown(value)}")
    elif schema is str:
        if not isinstance(value, str):
            raise SchemaError(where, f"expected a string, got {_shown(value)}")
    elif schema is Hex64:
        if not (isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)):
            raise SchemaError(where, f"expected a sha256 (64 hex digits), got {_shown(value)}")
    elif isinstance(schema, Obj):
        if not isinstance(value, dict):
            raise SchemaError(where, f"expected an object, got {_shown(value)}")
        for key, sub in schema.fields.items():
            if key in value:
                validate(value[key], sub, _key(where, key))
            elif schema.required:
                raise SchemaError(_key(where, key), "missing")
        if not schema.extra:
            unknown = sorted(set(value) - set(schema.fields))
            if unknown:
                raise SchemaError(_key(where, unknown[0]), "unknown field")
    elif isinstance(schema, MapOf):
        if not isinstance(value, dict):
            raise SchemaError(where, f"expected an object, got {_shown(value)}")
        for key, sub in value.items():
            validate(sub, schema.values, _key(where, key))
    elif isinstance(schema, ListOf):
        if not isinstance(value, list):
            raise SchemaError(where, f"expected a list, got {_shown(value)}")
        for n, item in enumerate(value):
            validate(item, schema.items, f"{where}[{n}]")
    else:  # pragma: no cover - a mistake in a schema, not in the data
        raise TypeError(f"unknown schema {schema!r}")
