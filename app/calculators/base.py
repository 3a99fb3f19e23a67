"""What every calculator shares: the instance and solution records, the Calculator entry itself, and the
small text helpers of worked explanations. generated.py (convolutions, pooling, classic metrics) and
generated_models.py (transformers, RNNs, detection, training, memory) both build on it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .formulas import _at_least, _pair
from .params import Param, _fmt_spec


@dataclass(frozen=True)
class Instance:
    calculator: str
    seed: int
    params: dict[str, Any]
    kind: Literal["shape", "numeric"]
    answer: tuple[int, ...] | float
    tolerance: float
    rel_tolerance: float
    order: str | None
    worked: str


# --------------------------------------------------------------------------------------------
# Calculators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Solution:
    answer: tuple[int, ...] | float
    worked: str
    params: dict[str, Any]  # drawn values plus derived ones for the prompt (never the answer)
    tolerance: float = 0.0
    rel_tolerance: float = 0.0


Picker = Callable[[str], Any]  # draws a fresh value for the named parameter


@dataclass(frozen=True)
class Calculator:
    name: str
    title: str
    kind: Literal["shape", "numeric"]
    params: dict[str, Param]
    solve: Callable[[dict[str, Any]], _Solution]
    # Specs that apply per layer / per box / per class are drawn by `sample` (mutating the values
    # of the other, once-drawn parameters); `per_item` names them.
    sample: Callable[[dict[str, Any], Picker, random.Random], None] | None = None
    per_item: tuple[str, ...] = ()
    derived: str = ""  # extra instance params for prompts, documented by describe()
    order: str = "NCHW"  # shape answers: one letter per dimension (feedback names them)

    @property
    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.params.items()}

    def describe(self) -> str:
        answer = f"形状 {self.order}" if self.kind == "shape" else "数值"
        lines = [f"{self.name} — {self.title}（答案：{answer}）"]
        for name, p in self.params.items():
            note = f"  # {p.help}" if p.help else ""
            lines.append(f"  {name}: {_fmt_spec(p.default)}{note}")
        if self.derived:
            lines.append(f"  另可在题面使用：{self.derived}")
        return "\n".join(lines)


def _fmt(x: float) -> str:
    """Numbers in worked text: integers plain, others to 4 decimals without trailing zeros."""
    if isinstance(x, int) or float(x).is_integer():
        return str(int(x))
    return f"{x:.4f}".rstrip("0").rstrip(".")


def _approx(n: int) -> str:
    """'（≈ 1.81M）' after large counts so they stay readable; empty below 10 000."""
    for unit, scale in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= 10_000 and n >= scale:
            return f"（≈ {n / scale:.3g}{unit}）"
    return ""


def _bias_text(bias: bool) -> str:
    return "带偏置" if bias else "不带偏置"


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in shape) + ")"


def _spatial(params: dict[str, Any]) -> None:
    """width null means a square input; input_shape is what the prompt shows."""
    if params.get("width") is None:
        params["width"] = params["height"]
    # conv2d_macs has no batch_size: MACs are counted per image.
    params["input_shape"] = [params.get("batch_size", 1), params["in_channels"], params["height"], params["width"]]


def _dims(params: dict[str, Any], *names: str) -> list[tuple[int, int]]:
    return [_pair(params[n], n) for n in names]


_WIDTH = Param("int", None, "null = 与 height 相同（正方形输入）", nullable=True)


def _image(in_channels: list[int], height: dict[str, int]) -> dict[str, Param]:
    return {"batch_size": Param("int", 1), "in_channels": Param("int", in_channels),
            "height": Param("int", height), "width": _WIDTH}


def _ask(default: str, table: Mapping[str, str]) -> Param:
    return Param("choice", default, "可选 " + " / ".join(table), tuple(table))


# Two boxes, each drawn as a corner plus a size unless x2/y2 are given (box_iou, box_giou).
_BOX_PARAMS = {
    "x1": Param("float", {"min": 0, "max": 8}, "每个框独立抽取左上角"),
    "y1": Param("float", {"min": 0, "max": 8}),
    "x2": Param("float", None, "null = x1 + size", nullable=True),
    "y2": Param("float", None, "null = y1 + size", nullable=True),
    "size": Param("float", {"min": 2, "max": 10}, "框的宽/高（x2、y2 为 null 时使用）"),
}
_BOX_ITEMS = tuple(_BOX_PARAMS)


def _sample_boxes(values: dict[str, Any], pick: Picker, rng: random.Random) -> None:
    boxes = []
    for _ in range(2):
        x1, y1, x2, y2 = pick("x1"), pick("y1"), pick("x2"), pick("y2")
        x2 = x1 + pick("size") if x2 is None else x2  # null x2/y2: corner + size
        y2 = y1 + pick("size") if y2 is None else y2
        boxes.append([round(v, 2) for v in (x1, y1, x2, y2)])
    values["box_a"], values["box_b"] = boxes


def _sample_logits(values: dict[str, Any], pick: Picker, rng: random.Random) -> None:
    c = values["num_classes"]
    _at_least(c, 2, "num_classes")
    values["logits"] = [pick("logit") for _ in range(c)]
    values["target"] = rng.randrange(c)
