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


def _seg_metrics(args: tuple, expected: Any) -> None:
    pred, target, num_classes, ignore_index = args
    p = torch.as_tensor(np.asarray(pred, dtype=np.int64)).reshape(-1)
    t = torch.as_tensor(np.asarray(target, dtype=np.int64)).reshape(-1)
    valid = t != ignore_index
    # one class at a time over one-hot masks, the way a torch training loop often writes it
    iou, dice = [], []
    for c in range(num_classes):
        pc, tc = (p == c) & valid, (t == c) & valid
        inter, union, sizes = (pc & tc).sum().item(), (pc | tc).sum().item(), pc.sum().item() + tc.sum().item()
        iou.append(inter / union if union else float("nan"))
        dice.append(2 * inter / sizes if sizes else float("nan"))
    iou_t, dice_t = torch.tensor(iou, dtype=torch.float64), torch.tensor(dice, dtype=torch.float64)
    want = (iou_t, dice_t, torch.nanmean(iou_t).item(), torch.nanmean(dice_t).item())
    for got, w in zip(expected, want, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(w), rtol=1e-12, atol=1e-12, equal_nan=True)


def _kmeans(args: tuple, expected: Any) -> None:
    x_np, init, max_iter = args
    c = torch.as_tensor(init, dtype=torch.float64).clone()
    x = torch.as_tensor(x_np, dtype=torch.float64).reshape(-1, c.shape[1])

    def assign(c: torch.Tensor) -> torch.Tensor:
        return ((x[:, None, :] - c[None]) ** 2).sum(2).argmin(1)  # torch.argmin: the first minimum

    # Lloyd's iterations with index_add_ (sklearn's KMeans relocates empty clusters: not the item's rule)
    for _ in range(max_iter):
        labels = assign(c)
        sums = torch.zeros_like(c).index_add_(0, labels, x)
        counts = torch.bincount(labels, minlength=c.shape[0]).double()[:, None]
        new = torch.where(counts > 0, sums / counts.clamp(min=1), c)
        if torch.equal(new, c):
            break
        c = new
    got_labels, got_c = expected
    np.testing.assert_array_equal(np.asarray(got_labels), assign(c).numpy())
    np.testing.assert_allclose(np.asarray(got_c), c.numpy(), rtol=1e-9, atol=1e-12)


def _fit_linear(args: tuple, expected: Any) -> None:
    X_np, y_np, fit_intercept = args
    X = torch.as_tensor(X_np, dtype=torch.float64)
    y = torch.as_tensor(y_np, dtype=torch.float64).reshape(-1, 1)
    x_mean, y_mean = (X.mean(0), y.mean()) if fit_intercept else (torch.zeros(X.shape[1], dtype=X.dtype), 0.0)
    # gelsd: SVD-based, the minimum-norm solution when X is rank-deficient
    w = torch.linalg.lstsq(X - x_mean, y - y_mean, driver="gelsd").solution.reshape(-1)
    b = float(y_mean - x_mean @ w) if fit_intercept else 0.0
    got_w, got_b = expected
    np.testing.assert_allclose(np.asarray(got_w), w.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(got_b, b, rtol=1e-7, atol=1e-9)
    if fit_intercept:  # and as sklearn fits it
        from sklearn.linear_model import LinearRegression

        reg = LinearRegression().fit(np.asarray(X_np), np.asarray(y_np))
        np.testing.assert_allclose(np.asarray(got_w), reg.coef_, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(got_b, reg.intercept_, rtol=1e-6, atol=1e-8)


def _whiten(args: tuple, expected: Any) -> None:
    x_np, mode, eps = args
    x = torch.as_tensor(x_np, dtype=torch.float64)
    n, d = x.shape
    xc = x - x.mean(0)
    # through the SVD of the centred data rather than an eigendecomposition of the covariance
    _, s, vh = torch.linalg.svd(xc, full_matrices=True)
    lam = torch.zeros(d, dtype=torch.float64)
    lam[: s.numel()] = s**2 / n
    v = vh.T
    top = v.abs().argmax(0)
    v = v * torch.sign(v[top, torch.arange(d)])
    pca = (xc @ v) / torch.sqrt(lam + eps)
    want = pca if mode == "pca" else pca @ v.T
    np.testing.assert_allclose(np.asarray(expected), want.numpy(), rtol=1e-6, atol=1e-8)
    # and what whitening promises: the covariance of the result is U diag(lam / (lam + eps)) U^T
    cov = torch.as_tensor(np.asarray(expected)).T @ torch.as_tensor(np.asarray(expected)) / n
    target = torch.diag(lam / (lam + eps)) if mode == "pca" else v @ torch.diag(lam / (lam + eps)) @ v.T
    np.testing.assert_allclose(cov.numpy(), target.numpy(), rtol=1e-6, atol=1e-8)


def _lbp(args: tuple, expected: Any) -> None:
    img = torch.as_tensor(np.asarray(args[0]), dtype=torch.float64)
    h, w = img.shape
    got = np.asarray(expected)
    assert got.dtype == np.uint8 and got.shape == (max(h - 2, 0), max(w - 2, 0)), (got.dtype, got.shape)
    if got.size == 0:
        return
    # F.unfold lists a 3x3 window row by row (0 1 2 / 3 4 5 / 6 7 8): clockwise from the top-left is 0 1 2 5 8 7 6 3
    patches = torch.nn.functional.unfold(img[None, None], kernel_size=3)[0]  # (9, L)
    bits = (patches[[0, 1, 2, 5, 8, 7, 6, 3]] >= patches[4]).long()
    codes = (bits * (2 ** torch.arange(7, -1, -1))[:, None]).sum(0).reshape(h - 2, w - 2)
    np.testing.assert_array_equal(got, codes.numpy())


def _equalize_hist(args: tuple, expected: Any) -> None:
    img = torch.as_tensor(np.asarray(args[0]).astype(np.int64))
    got = np.asarray(expected)
    assert got.dtype == np.uint8 and got.shape == tuple(img.shape), (got.dtype, got.shape)
    n = img.numel()
    if n == 0:
        return
    hist = torch.bincount(img.reshape(-1), minlength=256)
    cdf = torch.cumsum(hist, 0)
    cdf_min = hist[hist > 0][0]
    if cdf_min == n:
        np.testing.assert_array_equal(got, img.numpy())
        return
    # in integers: round(c * 255 / d) = floor((2 * c * 255 + d) / (2 * d)), no float anywhere
    d = n - cdf_min
    lut = torch.div(2 * (cdf - cdf_min).clamp(min=0) * 255 + d, 2 * d, rounding_mode="floor")
    np.testing.assert_array_equal(got, lut[img].numpy())


TORCH_EQUIVALENTS: dict[str, Callable[[tuple, Any], None]] = {
    "code-box-iou": _box_iou,
    "code-giou": _giou,
    "code-average-precision": _average_precision,
    "code-prf-confusion": _prf_from_confusion,
    "code-topk-accuracy": _topk_accuracy,
    "code-hit-rate": _hit_rate_at_k,
    "code-seg-dice-miou": _seg_metrics,
    "code-kmeans": _kmeans,
    "code-least-squares": _fit_linear,
    "code-whitening": _whiten,
    "code-lbp": _lbp,
    "code-equalize-hist": _equalize_hist,
    # code-soft-nms, code-reverse-list, code-kth-from-end, code-max-subarray: no torch/torchvision equivalent
}
