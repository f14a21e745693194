"""Named, validated detector settings.

Every threshold of a detector is a field of its ``Settings`` dataclass, with its unit in the
field name or docstring. Settings come from rig files and the command line as mappings;
``settings_from_mapping`` turns one into the dataclass and reports a bad field in one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is unknown, of the wrong type or out of range; the message names it."""


def require(condition: bool, field: str, problem: str) -> None:
    """Raise ``SettingsError("field: problem")`` unless ``condition`` holds."""
    if not condition:
        raise SettingsError(f"{field}: {problem}")


def settings_from_mapping(cls: type[T], mapping: Mapping[str, Any] | None, where: str) -> T:
    """Build settings dataclass ``cls`` from ``mapping``; errors are prefixed with ``where``."""
    mapping = dict(mapping or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise SettingsError(
            f"{where}.{unknown[0]}: unknown setting (known: {', '.join(sorted(fields))})"
        )
    values: dict[str, Any] = {}
    for name, value in mapping.items():
        default = fields[name].default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise SettingsError(f"{where}.{name}: expected true or false, got {value!r}")
        elif isinstance(default, int | float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SettingsError(f"{where}.{name}: expected a number, got {value!r}")
            value = type(default)(value) if isinstance(default, float) else value
        values[name] = value
    try:
        return cls(**values)
    except SettingsError as error:
        raise SettingsError(f"{where}.{error}") from None
