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


# ---------------------------------------------------------------- content/banks/coding-layers.md
import torch.nn.functional as F  # noqa: E402 - this block is kept together for easy merges


def _t(a: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def _close(expected: Any, actual: torch.Tensor | float, rtol: float = 1e-9, atol: float = 1e-11) -> None:
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().numpy()
    np.testing.assert_allclose(np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64),
                               rtol=rtol, atol=atol)


def _with_defaults(args: tuple, defaults: tuple) -> tuple:
    """A case's args with the entry's defaults filled in (cases may leave trailing arguments out)."""
    return tuple(args) + tuple(defaults[len(args):])


def _conv2d(args: tuple, expected: Any) -> None:
    x, w, b, stride, padding, dilation, groups = _with_defaults(args, (None, None, None, 1, 0, 1, 1))
    out = F.conv2d(_t(x), _t(w), None if b is None else _t(b), stride=stride, padding=padding, dilation=dilation,
                   groups=groups)
    _close(expected, out)


def _im2col(args: tuple, expected: Any) -> None:
    x, k, stride, padding, dilation = _with_defaults(args, (None, None, 1, 0, 1))
    _close(expected, F.unfold(_t(x), k, dilation=dilation, padding=padding, stride=stride), atol=0)


def _max_pool2d(args: tuple, expected: Any) -> None:
    x, k, stride, padding = _with_defaults(args, (None, None, None, 0))
    _close(expected, F.max_pool2d(_t(x), k, stride=stride, padding=padding), atol=0)


def _avg_pool2d(args: tuple, expected: Any) -> None:
    x, k, stride, padding, include = _with_defaults(args, (None, None, None, 0, True))
    _close(expected, F.avg_pool2d(_t(x), k, stride=stride, padding=padding, count_include_pad=include))


def _batch_norm(args: tuple, expected: Any) -> None:
    x, rm, rv, w, b, training, momentum, eps = _with_defaults(args, (None,) * 6 + (0.1, 1e-5))
    rm_t, rv_t = _t(rm).clone(), _t(rv).clone()
    y = F.batch_norm(_t(x), rm_t, rv_t, _t(w), _t(b), training=training, momentum=momentum, eps=eps)
    y_exp, rm_exp, rv_exp = expected
    _close(y_exp, y, rtol=1e-8, atol=1e-8)  # inputs near 1e6 carry 1e-10 of rounding
    _close(rm_exp, rm_t)
    _close(rv_exp, rv_t)


def _layer_norm(args: tuple, expected: Any) -> None:
    x, shape, w, b, eps = _with_defaults(args, (None, None, None, None, 1e-5))
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    out = F.layer_norm(_t(x), shape, None if w is None else _t(w), None if b is None else _t(b), eps=eps)
    _close(expected, out, rtol=1e-7, atol=1e-7)  # inputs near 1e8 carry 1e-8 of rounding


def _inverted_dropout(args: tuple, expected: Any) -> None:
    x, mask, p, training = _with_defaults(args, (None, None, None, True))
    if not training or p in (0, 1):  # torch's own dropout: no randomness left to align
        _close(expected, F.dropout(_t(x), p=p, training=training), atol=0)
        return
    # torch draws its own mask: take the factor it gives kept elements, apply it with the case's mask
    kept = F.dropout(torch.ones(4096, dtype=torch.float64), p=p, training=True)
    factor = kept[kept != 0]
    assert torch.allclose(factor, factor[0])
    _close(expected, torch.where(torch.as_tensor(np.asarray(mask, dtype=bool)), _t(x) * factor[0], 0.0))


def _softmax_cross_entropy(args: tuple, expected: Any) -> None:
    logits, labels, smoothing = _with_defaults(args, (None, None, 0.0))
    z, y = _t(logits), torch.as_tensor(np.asarray(labels, dtype=np.int64))
    probs, loss = expected
    _close(probs, F.softmax(z, dim=1), atol=1e-15)
    _close(loss, F.cross_entropy(z, y, label_smoothing=smoothing).item())


LAYER_EQUIVALENTS: dict[str, Callable[[tuple, Any], None]] = {
    "code-conv2d": _conv2d,
    "code-im2col": _im2col,
    "code-max-pool2d": _max_pool2d,
    "code-avg-pool2d": _avg_pool2d,
    "code-batch-norm": _batch_norm,
    "code-layer-norm": _layer_norm,
    "code-inverted-dropout": _inverted_dropout,
    "code-softmax-cross-entropy": _softmax_cross_entropy,
}
TORCH_EQUIVALENTS.update(LAYER_EQUIVALENTS)
