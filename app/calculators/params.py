"""Parameter specs of generated items: a fixed value, a list to choose from, or a {min, max} range,
type-checked against the calculator's declared parameters and drawn from a seeded random generator.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .formulas import _is_int


class ParamRangeError(ValueError):
    """A parameter spec is malformed, unknown, or never yields a valid instance."""


# --------------------------------------------------------------------------------------------
# Parameter specs
# --------------------------------------------------------------------------------------------

ParamType = Literal["int", "pair", "float", "bool", "choice"]


@dataclass(frozen=True)
class Param:
    type: ParamType
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()
    nullable: bool = False  # None (YAML null) is allowed; its meaning is given in help


@dataclass(frozen=True)
class _Spec:
    form: Literal["fixed", "choice", "range"]
    values: tuple[Any, ...]  # fixed: (v,), choice: options, range: (min, max)


def _check_value(name: str, param: Param, value: Any) -> Any:
    """Type-check one concrete value; returns it JSON-shaped (pairs as lists)."""
    if value is None and param.nullable:
        return None
    ok = {
        "int": _is_int(value),
        "pair": _is_int(value) or (isinstance(value, (list, tuple)) and len(value) == 2
                                   and all(_is_int(v) for v in value)),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "choice": value in param.choices,
    }[param.type]
    if not ok:
        expected = {
            "int": "整数",
            "pair": "整数或两个整数 [h, w]",
            "float": "数字",
            "bool": " true 或 false",
            "choice": "以下之一：" + ", ".join(param.choices),
        }[param.type]
        raise ParamRangeError(f"{name} 应为{expected}，实际为 {value!r}")
    return list(value) if isinstance(value, tuple) else value


def _parse_spec(name: str, param: Param, raw: Any) -> _Spec:
    if isinstance(raw, Mapping):
        if set(raw) != {"min", "max"}:
            raise ParamRangeError(f"{name} 的范围必须恰好包含 min 和 max 两个键，实际为 {dict(raw)!r}")
        low, high = raw["min"], raw["max"]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if param.type not in ("int", "pair", "float") or not numeric:
            raise ParamRangeError(f"{name} 不能用 {{min, max}} 范围（只适用于数值参数，且 min/max 须为数字），实际为 {dict(raw)!r}")
        if param.type != "float" and not (_is_int(low) and _is_int(high)):
            raise ParamRangeError(f"{name} 的 min 和 max 应为整数，实际为 {dict(raw)!r}")
        if low > high:
            raise ParamRangeError(f"{name} 的 min {low} 大于 max {high}")
        return _Spec("range", (low, high))
    if isinstance(raw, (list, tuple)):
        if not raw:
            raise ParamRangeError(f"{name} 是空列表，没有可选的值")
        return _Spec("choice", tuple(_check_value(name, param, v) for v in raw))
    return _Spec("fixed", (_check_value(name, param, raw),))


def _draw_value(rng: random.Random, spec: _Spec) -> Any:
    if spec.form == "fixed":
        return spec.values[0]
    if spec.form == "choice":
        return rng.choice(spec.values)
    low, high = spec.values
    if _is_int(low) and _is_int(high):
        return rng.randint(low, high)
    return round(rng.uniform(low, high), 2)


def _fmt_spec(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_fmt_spec(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt_spec(v) for v in value) + "]"
    return str(value)
