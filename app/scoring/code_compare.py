"""Is a candidate's output the expected one? Pure functions, one per comparison rule of content/FORMAT.md."""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np

Rule = Literal["exact", "allclose", "set", "unordered", "shape_dtype"]
RULES: tuple[str, ...] = get_args(Rule)


def compare(actual: Any, expected: Any, rule: str, rtol: float = 1e-6, atol: float = 1e-8) -> str | None:
    """None when `actual` passes against `expected` under `rule`, else why not (one short Chinese sentence)."""
    if rule == "set":
        return _same_set(actual, expected)
    if rule == "unordered":
        a, e = _rows(actual), _rows(expected)
        if a is None or e is None:
            return _same(actual, expected, rtol, atol, exact=False, dtype=False)
        return _same(a, e, rtol, atol, exact=False, dtype=False)
    return _same(actual, expected, rtol, atol, exact=rule == "exact", dtype=rule == "shape_dtype")


def _same(actual: Any, expected: Any, rtol: float, atol: float, *, exact: bool, dtype: bool) -> str | None:
    if isinstance(expected, (tuple, list)) and not _numeric_array_like(expected):
        if not isinstance(actual, (tuple, list)) or isinstance(actual, np.ndarray):
            return f"应返回 {len(expected)} 个值的序列，实际是 {type(actual).__name__}"
        if len(actual) != len(expected):
            return f"应返回 {len(expected)} 个值，实际 {len(actual)} 个"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            why = _same(a, e, rtol, atol, exact=exact, dtype=dtype)
            if why:
                return f"第 {i + 1} 个返回值：{why}"
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return "返回的字典键不对"
        for k in expected:
            why = _same(actual[k], expected[k], rtol, atol, exact=exact, dtype=dtype)
            if why:
                return f"键 {k!r}：{why}"
        return None
    if isinstance(expected, str) or expected is None or isinstance(expected, bool):
        return None if actual == expected and type(actual) is type(expected) else f"应为 {expected!r}"
    try:
        a = np.asarray(actual)
        e = np.asarray(expected)
    except (TypeError, ValueError):
        return "返回值不是数值或数组"
    if a.dtype.kind not in "biufc":
        return "返回值不是数值或数组"
    if a.shape != e.shape:
        return f"形状 {a.shape} 与期望 {e.shape} 不同"
    if dtype and a.dtype != e.dtype:
        return f"dtype {a.dtype} 与期望 {e.dtype} 不同"
    if exact or e.dtype.kind in "biu" and a.dtype.kind in "biu":
        return None if np.array_equal(a, e) else "数值不相等"
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        diff = np.abs(a.astype(complex) - e.astype(complex))
        if not a.size or np.isnan(diff).all():  # NaN where a number was expected: no deviation to report
            return "数值不在容差内（出现了 NaN 或 inf）"
        return f"数值不在容差内（最大偏差 {float(np.nanmax(diff)):.3g}）"
    return None


def _numeric_array_like(value: Any) -> bool:
    """A list of numbers (or of equal-length lists of numbers) is an array, not a sequence of return values."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return False
    return arr.dtype.kind in "biufc"


def _rows(value: Any) -> np.ndarray | None:
    """The rows of a 1-D or 2-D array sorted lexicographically: an order-insensitive form."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2):
        return None
    if arr.ndim == 1:
        return np.sort(arr)
    return arr[np.lexsort(arr.T[::-1])] if arr.size else arr


def _same_set(actual: Any, expected: Any) -> str | None:
    try:
        a = {_key(v) for v in np.asarray(actual).ravel().tolist()}
        e = {_key(v) for v in np.asarray(expected).ravel().tolist()}
    except (TypeError, ValueError):
        return "返回值不是一组数"
    if a == e:
        return None
    return f"多了 {sorted(a - e)[:5]}，少了 {sorted(e - a)[:5]}" if len(a ^ e) < 20 else "集合不相等"


def _key(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v
