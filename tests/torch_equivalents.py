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


def _where_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, 0 where den == 0 (the items' convention for degenerate boxes and empty classes)."""
    return torch.where(den > 0, num / den.where(den > 0, torch.ones_like(den)), torch.zeros_like(num))


def _giou(args: tuple, expected: Any) -> None:
    a, b = (torch.as_tensor(x, dtype=torch.float64).reshape(-1, 4) for x in args)
    # torchvision.ops.generalized_box_iou (an N x M matrix) written out in torch; the pairs are its diagonal
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    inter = (torch.min(a[:, None, 2:], b[None, :, 2:]) - torch.max(a[:, None, :2], b[None, :, :2])).clamp(min=0).prod(2)
    union = area_a[:, None] + area_b[None, :] - inter
    hull = (torch.max(a[:, None, 2:], b[None, :, 2:]) - torch.min(a[:, None, :2], b[None, :, :2])).prod(2)
    giou = (_where_div(inter, union) - _where_div(hull - union, hull)).diagonal()
    loss = (1 - giou).mean().item() if giou.numel() else 0.0  # torchvision's generalized_box_iou_loss, "mean"
    g, mean_loss = expected
    np.testing.assert_allclose(np.asarray(g), giou.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mean_loss, loss, rtol=1e-9, atol=1e-12)


def _average_precision(args: tuple, expected: Any) -> None:
    scores, is_tp, num_gt, mode = args
    s = torch.as_tensor(scores, dtype=torch.float64).reshape(-1)
    tp = torch.as_tensor(is_tp, dtype=torch.bool).reshape(-1)
    if num_gt <= 0 or s.numel() == 0:
        assert expected == 0.0
        return
    # the PASCAL VOC devkit's voc_ap, written in torch with its loops (sklearn's average_precision_score does
    # not interpolate: a different number)
    order = torch.sort(s, descending=True, stable=True).indices
    tp = tp[order].double()
    ctp, cfp = torch.cumsum(tp, 0), torch.cumsum(1 - tp, 0)
    rec, prec = ctp / num_gt, ctp / (ctp + cfp)
    if mode == "11point":
        ap = 0.0
        for t in [i / 10 for i in range(11)]:
            ap += (prec[rec >= t].max().item() if bool((rec >= t).any()) else 0.0) / 11
    else:
        mrec = torch.cat([torch.zeros(1, dtype=torch.float64), rec, torch.ones(1, dtype=torch.float64)])
        mpre = torch.cat([torch.zeros(1, dtype=torch.float64), prec, torch.zeros(1, dtype=torch.float64)])
        for i in range(mpre.numel() - 1, 0, -1):
            mpre[i - 1] = torch.max(mpre[i - 1], mpre[i])
        i = torch.nonzero(mrec[1:] != mrec[:-1]).flatten()
        ap = torch.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]).item()
    np.testing.assert_allclose(expected, ap, rtol=1e-9, atol=1e-12)


def _prf_from_confusion(args: tuple, expected: Any) -> None:
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    cm = np.asarray(args[0], dtype=np.int64)
    c = cm.shape[0]
    if cm.sum() == 0:  # sklearn refuses no samples; every ratio is then 0 by the zero_division convention
        for got in expected:
            np.testing.assert_array_equal(np.asarray(got), np.zeros(np.shape(got)))
        return
    # samples whose (true, predicted) pairs give this confusion matrix
    y_true = np.repeat(np.repeat(np.arange(c), c), cm.ravel())
    y_pred = np.repeat(np.tile(np.arange(c), c), cm.ravel())
    p, r, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=np.arange(c), zero_division=0)
    macro = f1_score(y_true, y_pred, labels=np.arange(c), average="macro", zero_division=0)
    for got, want in zip(expected, (p, r, f1, macro), strict=True):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-12)


def _topk_accuracy(args: tuple, expected: Any) -> None:
    logits, labels, ks = args
    x = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    if y.numel() == 0:
        np.testing.assert_array_equal(np.asarray(expected), np.zeros(len(ks)))
        return
    # torch.topk does not order ties; a stable descending sort ranks equal scores by class index, as the item asks
    ranked = torch.sort(x, dim=1, descending=True, stable=True).indices
    acc = [ranked[:, :k].eq(y[:, None]).any(1).double().mean().item() for k in ks]
    np.testing.assert_allclose(np.asarray(expected), acc, rtol=1e-12, atol=1e-12)


def _hit_rate_at_k(args: tuple, expected: Any) -> None:
    scores, relevant, k, seen = args
    s = torch.as_tensor(scores, dtype=torch.float64).clone()
    rel = torch.as_tensor(relevant, dtype=torch.bool)
    if seen is not None:
        s[torch.as_tensor(seen, dtype=torch.bool)] = float("-inf")
    users = rel.any(1)
    ranked = torch.sort(s, dim=1, descending=True, stable=True).indices[:, :k]
    hit = rel.gather(1, ranked).any(1)
    want = hit[users].double().mean().item() if bool(users.any()) else 0.0
    np.testing.assert_allclose(expected, want, rtol=1e-12, atol=1e-12)


TORCH_EQUIVALENTS: dict[str, Callable[[tuple, Any], None]] = {
    "code-box-iou": _box_iou,
    "code-giou": _giou,
    "code-average-precision": _average_precision,
    "code-prf-confusion": _prf_from_confusion,
    "code-topk-accuracy": _topk_accuracy,
    "code-hit-rate": _hit_rate_at_k,
}
