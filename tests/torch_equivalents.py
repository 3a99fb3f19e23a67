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


def _sigmoid_focal_loss(args: tuple, expected: Any) -> None:
    x, t, alpha, gamma, reduction = _with_defaults(args, (None, None, 0.25, 2.0, "mean"))
    x, t = _t(x), _t(t)
    # torchvision.ops.sigmoid_focal_loss, written out in torch (torchvision is not installed)
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    loss = {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()
    _close(expected, loss, atol=1e-12)


def _scaled_dot_product_attention(args: tuple, expected: Any) -> None:
    q, k, v, mask = _with_defaults(args, (None, None, None, None))
    m = None if mask is None else torch.as_tensor(np.asarray(mask, dtype=bool))
    _close(expected, F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=m), atol=1e-11)


def _bilinear_resize(args: tuple, expected: Any) -> None:
    x, size, align = _with_defaults(args, (None, None, False))
    _close(expected, F.interpolate(_t(x), size=tuple(size), mode="bilinear", align_corners=align))


def _roi_align(args: tuple, expected: Any) -> None:
    """torchvision.ops.roi_align (its CPU kernel) written out point by point in torch."""
    x, rois, output_size, scale, ratio, aligned = _with_defaults(args, (None, None, None, 1.0, 2, False))
    x, rois = _t(x), _t(rois).reshape(-1, 5)
    ph, pw = (output_size, output_size) if np.isscalar(output_size) else output_size
    _, c, h, w = x.shape
    out = torch.zeros(len(rois), c, ph, pw, dtype=torch.float64)

    def sample(fm: torch.Tensor, y: float, xx: float) -> torch.Tensor:
        if y < -1.0 or y > h or xx < -1.0 or xx > w:
            return torch.zeros(c, dtype=torch.float64)
        y, xx = max(y, 0.0), max(xx, 0.0)
        y0, x0 = int(y), int(xx)
        y1, x1 = (y0 + 1, x0 + 1)
        if y0 >= h - 1:
            y0 = y1 = h - 1
            y = float(y0)
        if x0 >= w - 1:
            x0 = x1 = w - 1
            xx = float(x0)
        ly, lx = y - y0, xx - x0
        return ((1 - ly) * (1 - lx) * fm[:, y0, x0] + (1 - ly) * lx * fm[:, y0, x1]
                + ly * (1 - lx) * fm[:, y1, x0] + ly * lx * fm[:, y1, x1])

    offset = 0.5 if aligned else 0.0
    for r, roi in enumerate(rois.tolist()):
        fm = x[int(roi[0])]
        sx, sy, ex, ey = (v * scale - offset for v in roi[1:])
        rw, rh = ex - sx, ey - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        for i in range(ph):
            for j in range(pw):
                acc = torch.zeros(c, dtype=torch.float64)
                for a in range(ratio):
                    for b in range(ratio):
                        acc += sample(fm, sy + i * bh + (a + 0.5) * bh / ratio, sx + j * bw + (b + 0.5) * bw / ratio)
                out[r, :, i, j] = acc / (ratio * ratio)
    _close(expected, out)


_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)


def _sobel(args: tuple, expected: Any) -> None:
    img = _t(args[0])[None, None]
    gx = F.conv2d(img, _SOBEL_X[None, None], padding=1)[0, 0]
    gy = F.conv2d(img, _SOBEL_X.T[None, None], padding=1)[0, 0]
    ex, ey, emag = expected
    _close(ex, gx, atol=1e-12)
    _close(ey, gy, atol=1e-12)
    _close(emag, torch.sqrt(gx * gx + gy * gy), atol=1e-12)


def _gaussian_blur(args: tuple, expected: Any) -> None:
    img, sigma, radius, border = _with_defaults(args, (None, None, None, "zero"))
    d = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-d * d / (2 * sigma * sigma))
    g = g / g.sum()
    padded = F.pad(_t(img)[None, None], (radius,) * 4, mode="constant" if border == "zero" else "reflect")
    _close(expected, F.conv2d(padded, torch.outer(g, g)[None, None])[0, 0], atol=1e-12)


def _warmup_cosine_lr(args: tuple, expected: Any) -> None:
    base, warmup, total, start, eta_min = _with_defaults(args, (None, None, None, 0.1, 0.0))
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=start, end_factor=1.0, total_iters=warmup),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=eta_min)],
        milestones=[warmup])
    lrs = [sched.get_last_lr()[0]]
    for _ in range(total):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    _close(expected, np.array(lrs), rtol=1e-9, atol=1e-12)


def _adam_step(args: tuple, expected: Any) -> None:
    param, grad, m, v, step, lr, betas, eps, wd = _with_defaults(args, (None,) * 5 + (1e-3, (0.9, 0.999), 1e-8, 0.0))
    p = _t(param).clone().requires_grad_(True)
    opt = torch.optim.Adam([p], lr=lr, betas=tuple(betas), eps=eps, weight_decay=wd, foreach=False)
    opt.state[p] = {"step": torch.tensor(float(step - 1)), "exp_avg": _t(m).clone(), "exp_avg_sq": _t(v).clone()}
    p.grad = _t(grad).clone()
    opt.step()
    e_param, e_m, e_v = expected
    _close(e_param, p, rtol=1e-10, atol=1e-13)
    _close(e_m, opt.state[p]["exp_avg"], atol=1e-15)
    _close(e_v, opt.state[p]["exp_avg_sq"], atol=1e-15)


LAYER_EQUIVALENTS: dict[str, Callable[[tuple, Any], None]] = {
    "code-conv2d": _conv2d,
    "code-im2col": _im2col,
    "code-max-pool2d": _max_pool2d,
    "code-avg-pool2d": _avg_pool2d,
    "code-batch-norm": _batch_norm,
    "code-layer-norm": _layer_norm,
    "code-inverted-dropout": _inverted_dropout,
    "code-softmax-cross-entropy": _softmax_cross_entropy,
    "code-sigmoid-focal-loss": _sigmoid_focal_loss,
    "code-scaled-dot-product-attention": _scaled_dot_product_attention,
    "code-bilinear-resize": _bilinear_resize,
    "code-roi-align": _roi_align,
    "code-sobel": _sobel,
    "code-gaussian-blur": _gaussian_blur,
    "code-warmup-cosine-lr": _warmup_cosine_lr,
    "code-adam-step": _adam_step,
}
TORCH_EQUIVALENTS.update(LAYER_EQUIVALENTS)
