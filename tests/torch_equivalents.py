"""For code items with an equivalent in PyTorch or torchvision: item id -> a check of the reference's expected
value against torch on one case's arguments (raises AssertionError when they differ)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _box_iou(args: tuple, expected: Any) -> None:
    a, b = (torch.as_tensor(x, dtype=torch.float64).reshape(-1, 4) for x in args)
    # torchvision.ops.box_iou, written out in torch (torchvision is not installed beside the pinned torch)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    union = area_a[:, None] + area_b[None, :] - inter
    iou = torch.where(union > 0, inter / union.where(union > 0, torch.ones_like(union)), torch.zeros_like(union))
    np.testing.assert_allclose(np.asarray(expected), iou.numpy(), rtol=1e-9, atol=1e-12)


TORCH_EQUIVALENTS: dict[str, Callable[[tuple, Any], None]] = {
    "code-box-iou": _box_iou,
}
