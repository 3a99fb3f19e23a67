"""The calculators checked against PyTorch itself: shapes, parameter counts, MACs, receptive field, losses."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from app.calculators import (
    CALCULATORS,
    Instance,
    InvalidConfig,
    ParamRangeError,
    batchnorm_param_counts,
    box_iou,
    conv2d_macs,
    conv2d_output_shape,
    conv2d_param_count,
    conv_transpose2d_output_shape,
    depthwise_separable_param_counts,
    draw,
    inverted_dropout,
    linear_param_count,
    pool2d_output_shape,
    pool2d_output_size,
    precision_recall_f1,
    receptive_field,
    softmax_cross_entropy,
    stacked_conv_param_counts,
    validate_ranges,
)
from tests import calculators_torch as torch_reference

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch warns at import when numpy is absent; irrelevant here
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

torch.set_num_threads(1)  # tiny tensors: threading only adds overhead
ROOT = Path(__file__).resolve().parents[1]

# The contract with content writers (content/FORMAT.md, section "generated").
FORMAT_PARAMS = {
    "conv2d_output_shape": ["batch_size", "in_channels", "height", "width", "out_channels", "kernel_size",
                            "stride", "padding", "dilation", "groups"],
    "conv_transpose2d_output_shape": ["batch_size", "in_channels", "height", "width", "out_channels",
                                      "kernel_size", "stride", "padding", "output_padding", "dilation"],
    "maxpool2d_output_shape": ["batch_size", "in_channels", "height", "width", "kernel_size", "stride",
                               "padding", "dilation", "ceil_mode"],
    "avgpool2d_output_shape": ["batch_size", "in_channels", "height", "width", "kernel_size", "stride",
                               "padding", "ceil_mode"],
    "conv2d_params": ["in_channels", "out_channels", "kernel_size", "groups", "bias"],
    "depthwise_separable_params": ["in_channels", "out_channels", "kernel_size", "bias", "ask"],
    "batchnorm_params": ["num_features", "ask"],
    "linear_params": ["in_features", "out_features", "bias"],
    "receptive_field": ["num_layers", "kernel_size", "stride"],
    "conv2d_macs": ["in_channels", "out_channels", "height", "width", "kernel_size", "stride", "padding",
                    "groups", "ask"],
    "stacked_3x3_vs_5x5": ["in_channels", "num_layers", "ask"],
    "box_iou": ["x1", "y1", "x2", "y2", "size"],
    "precision_recall_f1": ["tp", "fp", "fn", "ask"],
    "softmax_cross_entropy": ["num_classes", "logit", "ask"],
    "inverted_dropout_scale": ["p", "x", "ask"],
    "mha_params": ["embed_dim", "num_heads", "bias", "ask"],
    "transformer_layer_params": ["d_model", "nhead", "dim_feedforward", "ask"],
    "attention_macs": ["seq_len", "embed_dim", "num_heads", "ask"],
    "rnn_params": ["cell", "input_size", "hidden_size", "num_layers", "bidirectional", "bias"],
    "vit_tokens": ["image_size", "patch_size", "embed_dim", "in_channels", "ask"],
    "pixel_shuffle_shape": ["batch_size", "out_channels", "upscale_factor", "height", "width"],
    "unfold_shape": ["batch_size", "in_channels", "height", "width", "kernel_size", "stride", "padding", "dilation"],
    "interpolate_shape": ["batch_size", "in_channels", "height", "width", "scale_factor", "mode"],
    "interpolate_source_index": ["in_size", "out_size", "out_index", "align_corners"],
    "resnet_stage_shape": ["batch_size", "height", "width", "arch", "stage"],
    "fpn_anchor_count": ["height", "width", "min_level", "max_level", "anchors_per_location"],
    "box_giou": ["x1", "y1", "x2", "y2", "size", "ask"],
    "dice_iou": ["tp", "fp", "fn", "ask"],
    "warmup_cosine_lr": ["base_lr", "warmup_steps", "total_steps", "start_factor", "eta_min", "step"],
    "adam_step": ["lr", "beta1", "beta2", "num_steps", "grad", "ask"],
    "label_smoothing_ce": ["num_classes", "logit", "smoothing", "ask"],
    "int8_quantization": ["scheme", "x_min", "x_max", "x", "ask"],
    "activation_memory": ["batch_size", "in_channels", "height", "width", "dtype", "unit"],
    "kv_cache_memory": ["num_layers", "batch_size", "seq_len", "num_kv_heads", "head_dim", "dtype", "unit"],
    "model_memory": ["num_params_m", "dtype", "unit", "ask"],
    "dilated_receptive_field": ["num_layers", "kernel_size", "dilation"],
}


def _t(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _ours(fn) -> Any:
    try:
        result = fn()
    except InvalidConfig:
        event("invalid configuration")  # shows the valid/invalid mix in --hypothesis-show-statistics
        return "error"
    event("valid configuration")
    return result


def _torch(fn) -> Any:
    try:
        with torch.no_grad():
            shape = tuple(fn())
    except (RuntimeError, ValueError):
        return "error"
    # Some backends (e.g. grouped transposed convs) return an empty tensor instead of raising.
    return "error" if 0 in shape else shape


def pair(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=2, max_size=2))


# --------------------------------------------------------------------------------------------
# Shapes: every random configuration either gives the same shape as PyTorch or fails in both.
# --------------------------------------------------------------------------------------------


@settings(max_examples=1200, deadline=None)
@given(h=st.integers(1, 24), w=st.integers(1, 24), cin=st.sampled_from([1, 2, 3, 4, 6, 6]),
       cout=st.sampled_from([1, 2, 3, 4, 6, 6]), groups=st.sampled_from([1, 1, 2, 3]), k=pair(1, 5), s=pair(1, 4),
       p=pair(0, 3), d=pair(1, 3))
@example(h=10, w=10, cin=2, cout=4, groups=1, k=3, s=1, p=0, d=2)  # dilation > 1
@example(h=9, w=9, cin=2, cout=2, groups=1, k=1, s=3, p=0, d=1)  # stride > kernel
@example(h=8, w=7, cin=1, cout=1, groups=1, k=5, s=1, p=2, d=1)  # padding = kernel // 2 keeps the size
@example(h=8, w=8, cin=4, cout=6, groups=2, k=3, s=2, p=1, d=1)  # groups > 1
@example(h=8, w=8, cin=3, cout=3, groups=3, k=3, s=1, p=1, d=1)  # depthwise
@example(h=8, w=8, cin=3, cout=6, groups=3, k=3, s=1, p=1, d=1)  # depthwise with multiplier 2
@example(h=11, w=6, cin=1, cout=1, groups=1, k=[3, 5], s=[1, 2], p=[1, 0], d=[2, 1])  # non-square
@example(h=2, w=2, cin=1, cout=1, groups=1, k=5, s=1, p=1, d=1)  # kernel larger than the padded input
@example(h=8, w=8, cin=4, cout=6, groups=3, k=3, s=1, p=1, d=1)  # groups do not divide in_channels
def test_conv2d_output_shape_matches_torch(h, w, cin, cout, groups, k, s, p, d):
    ours = _ours(lambda: conv2d_output_shape([1, cin, h, w], cout, k, s, p, d, groups))
    theirs = _torch(lambda: nn.Conv2d(cin, cout, _t(k), _t(s), _t(p), _t(d), groups)(torch.zeros(1, cin, h, w)).shape)
    assert ours == theirs


@settings(max_examples=1000, deadline=None)
@given(h=st.integers(1, 8), w=st.integers(1, 8), cin=st.sampled_from([1, 2, 4]), cout=st.sampled_from([1, 2, 4]),
       groups=st.sampled_from([1, 1, 2]), k=pair(1, 4), s=pair(1, 3), p=pair(0, 2), op=pair(0, 2), d=pair(1, 3))
@example(h=4, w=4, cin=2, cout=2, groups=1, k=3, s=2, p=1, op=1, d=1)  # the classic ×2 upsampling
@example(h=4, w=4, cin=2, cout=2, groups=1, k=3, s=1, p=0, op=1, d=2)  # output_padding allowed by dilation
@example(h=4, w=4, cin=2, cout=2, groups=1, k=3, s=2, p=0, op=2, d=1)  # output_padding too large
@example(h=4, w=4, cin=4, cout=2, groups=2, k=2, s=2, p=0, op=0, d=1)  # groups
@example(h=1, w=1, cin=1, cout=1, groups=1, k=1, s=1, p=1, op=0, d=1)  # padding eats the output
@example(h=3, w=5, cin=1, cout=1, groups=1, k=[2, 3], s=[2, 1], p=[0, 1], op=[1, 0], d=1)  # non-square
def test_conv_transpose2d_output_shape_matches_torch(h, w, cin, cout, groups, k, s, p, op, d):
    ours = _ours(lambda: conv_transpose2d_output_shape([1, cin, h, w], cout, k, s, p, op, d, groups))

    def run():
        conv = nn.ConvTranspose2d(cin, cout, _t(k), _t(s), _t(p), _t(op), groups, dilation=_t(d))
        return conv(torch.zeros(1, cin, h, w)).shape

    assert ours == _torch(run)


@settings(max_examples=1200, deadline=None)
@given(h=st.integers(1, 20), w=st.integers(1, 20), k=pair(1, 5), s=st.one_of(st.none(), pair(1, 4)),
       p=pair(0, 2), d=pair(1, 3), ceil=st.booleans())
@example(h=5, w=5, k=2, s=2, p=1, d=1, ceil=True)  # ceil_mode with padding drops the last window
@example(h=7, w=7, k=3, s=2, p=1, d=1, ceil=True)
@example(h=6, w=6, k=2, s=3, p=0, d=1, ceil=True)  # stride > kernel
@example(h=6, w=6, k=2, s=None, p=0, d=1, ceil=False)  # stride defaults to kernel_size
@example(h=8, w=8, k=3, s=1, p=1, d=1, ceil=False)  # padding = kernel // 2
@example(h=8, w=8, k=3, s=1, p=2, d=1, ceil=False)  # padding > kernel / 2: PyTorch refuses
@example(h=9, w=9, k=2, s=2, p=1, d=2, ceil=True)  # dilation > 1
@example(h=9, w=4, k=[3, 2], s=[2, 1], p=[1, 0], d=1, ceil=True)  # non-square
def test_maxpool2d_output_shape_matches_torch(h, w, k, s, p, d, ceil):
    ours = _ours(lambda: pool2d_output_shape([1, 2, h, w], k, s, p, d, ceil))
    pool = nn.MaxPool2d(_t(k), _t(s), _t(p), _t(d), ceil_mode=ceil)
    assert ours == _torch(lambda: pool(torch.zeros(1, 2, h, w)).shape)


@settings(max_examples=900, deadline=None)
@given(h=st.integers(1, 20), w=st.integers(1, 20), k=pair(1, 5), s=st.one_of(st.none(), pair(1, 4)),
       p=pair(0, 2), ceil=st.booleans())
@example(h=5, w=5, k=2, s=2, p=1, ceil=True)
@example(h=6, w=6, k=3, s=2, p=1, ceil=True)
@example(h=6, w=6, k=1, s=3, p=0, ceil=True)
@example(h=6, w=6, k=3, s=1, p=2, ceil=False)  # padding > kernel / 2
def test_avgpool2d_output_shape_matches_torch(h, w, k, s, p, ceil):
    ours = _ours(lambda: pool2d_output_shape([1, 2, h, w], k, s, p, 1, ceil))
    pool = nn.AvgPool2d(_t(k), _t(s), _t(p), ceil_mode=ceil)
    assert ours == _torch(lambda: pool(torch.zeros(1, 2, h, w)).shape)


def test_pool_ceil_mode_rule_by_hand():
    # (5 + 2 - 2 + 1) // 2 + 1 = 4, but the 4th window would start at 6 >= 5 + 1: dropped.
    assert pool2d_output_size(5, 2, 2, 1, ceil_mode=True) == 3
    assert pool2d_output_size(5, 2, 2, 1, ceil_mode=False) == 3
    assert pool2d_output_size(7, 2, 2, 0, ceil_mode=True) == 4
    assert pool2d_output_size(7, 2, 2, 0, ceil_mode=False) == 3


# --------------------------------------------------------------------------------------------
# Parameter counts against module.parameters() / buffers / state_dict
# --------------------------------------------------------------------------------------------


def _numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


@settings(max_examples=500, deadline=None)
@given(cin=st.integers(1, 64), cout=st.integers(1, 64), k=pair(1, 7), groups=st.sampled_from([1, 1, 2, 3, 4, 8]),
       bias=st.booleans())
@example(cin=3, cout=64, k=3, groups=1, bias=True)  # 1792, the textbook example
@example(cin=32, cout=32, k=3, groups=32, bias=False)  # depthwise
@example(cin=6, cout=4, k=[1, 3], groups=4, bias=True)  # groups do not divide in_channels
def test_conv2d_param_count_matches_torch(cin, cout, k, groups, bias):
    ours = _ours(lambda: (conv2d_param_count(cin, cout, k, groups, bias),))
    theirs = _torch(lambda: (_numel(nn.Conv2d(cin, cout, _t(k), groups=groups, bias=bias, device="meta").parameters()),))
    assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(cin=st.integers(1, 128), cout=st.integers(1, 128), k=pair(1, 7), bias=st.booleans())
def test_depthwise_separable_matches_torch(cin, cout, k, bias):
    counts = depthwise_separable_param_counts(cin, cout, k, bias)
    depthwise = nn.Conv2d(cin, cin, _t(k), groups=cin, bias=bias, device="meta")
    pointwise = nn.Conv2d(cin, cout, 1, bias=bias, device="meta")
    standard = nn.Conv2d(cin, cout, _t(k), bias=bias, device="meta")
    separable = _numel(depthwise.parameters()) + _numel(pointwise.parameters())
    assert counts["separable"] == separable
    assert counts["standard"] == _numel(standard.parameters())
    assert counts["ratio"] == pytest.approx(separable / _numel(standard.parameters()))


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 2048))
def test_batchnorm_counts_match_torch(c):
    bn = nn.BatchNorm2d(c, device="meta")
    counts = batchnorm_param_counts(c)
    assert counts["learnable"] == _numel(bn.parameters())
    assert counts["running"] == bn.running_mean.numel() + bn.running_var.numel()
    assert counts["state_dict"] == _numel(bn.state_dict().values())
    assert counts["state_dict"] == _numel(bn.parameters()) + _numel(bn.buffers())


@settings(max_examples=200, deadline=None)
@given(n_in=st.integers(1, 4096), n_out=st.integers(1, 4096), bias=st.booleans())
def test_linear_param_count_matches_torch(n_in, n_out, bias):
    assert linear_param_count(n_in, n_out, bias) == _numel(nn.Linear(n_in, n_out, bias, device="meta").parameters())


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 256), n=st.integers(1, 4))
def test_stacked_3x3_matches_torch(c, n):
    counts = stacked_conv_param_counts(c, n)
    stack = nn.Sequential(*(nn.Conv2d(c, c, 3, bias=False, device="meta") for _ in range(n)))
    single = nn.Conv2d(c, c, 2 * n + 1, bias=False, device="meta")
    assert counts["stacked_params"] == _numel(stack.parameters())
    assert counts["single_params"] == _numel(single.parameters())
    assert counts["saving"] == counts["single_params"] - counts["stacked_params"]
    assert counts["receptive_field"] == receptive_field([{"kernel_size": 3, "stride": 1}] * n)


# --------------------------------------------------------------------------------------------
# Receptive field: the gradient of one output element is nonzero exactly on its receptive field.
# --------------------------------------------------------------------------------------------


def _autograd_rf(layers: list[dict[str, int]], two_d: bool = False) -> int:
    """Extent of the input region that one central output element depends on (all-ones weights)."""
    total_stride = math.prod(layer["stride"] for layer in layers)
    # Large enough for any stack: each layer's span times every stride before it, with slack.
    size = 2 * total_stride * (1 + sum(layer.get("dilation", 1) * (layer["kernel_size"] - 1) for layer in layers))
    x = torch.zeros(1, 1, size, size if two_d else 1, dtype=torch.float64, requires_grad=True)
    y = x
    for layer in layers:
        k, s, d = layer["kernel_size"], layer["stride"], layer.get("dilation", 1)
        kernel = (k, k) if two_d else (k, 1)
        y = F.conv2d(y, torch.ones(1, 1, *kernel, dtype=torch.float64), stride=(s, s if two_d else 1),
                     dilation=(d, d if two_d else 1))
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    extents = []
    for dim in (2, 3) if two_d else (2,):
        hit = x.grad[0, 0].abs().sum(dim=3 - dim).nonzero().flatten()  # collapse the other axis
        extents.append(int(hit.max() - hit.min()) + 1)
    assert len(set(extents)) == 1
    return extents[0]


_layer = st.fixed_dictionaries({"kernel_size": st.integers(1, 5), "stride": st.integers(1, 3),
                                "dilation": st.integers(1, 2)})


@settings(max_examples=400, deadline=None)
@given(layers=st.lists(_layer, min_size=1, max_size=4))
@example(layers=[{"kernel_size": 3, "stride": 1, "dilation": 1}] * 2)  # two 3×3 = one 5×5
@example(layers=[{"kernel_size": 1, "stride": 2, "dilation": 1}, {"kernel_size": 3, "stride": 1, "dilation": 1}])
@example(layers=[{"kernel_size": 3, "stride": 1, "dilation": 2}])  # stride > kernel, dilation
def test_receptive_field_matches_autograd(layers):
    assert receptive_field(layers) == _autograd_rf(layers)


def test_receptive_field_of_drawn_stacks_matches_autograd_in_2d():
    for seed in range(40):
        inst = draw("receptive_field", {}, seed)
        assert inst.answer == _autograd_rf(inst.params["layers"], two_d=True)
        assert len(inst.params["layers_text"].split(" → ")) == inst.params["num_layers"]


# --------------------------------------------------------------------------------------------
# MACs against torch's FLOP counter (which reports 2 FLOPs per multiply-accumulate, bias ignored)
# --------------------------------------------------------------------------------------------


def _torch_conv_flops(cin: int, cout: int, h: int, w: int, k: Any, s: Any, p: Any, groups: int,
                      n: int = 1) -> int:
    kh, kw = (k, k) if isinstance(k, int) else k
    x = torch.empty(n, cin, h, w, device="meta")
    weight = torch.empty(cout, cin // groups, kh, kw, device="meta")
    with FlopCounterMode(display=False) as counter:
        F.conv2d(x, weight, torch.empty(cout, device="meta"), _t(s), _t(p), 1, groups)
    return counter.get_total_flops()


@settings(max_examples=400, deadline=None)
@given(a=st.integers(1, 8), b=st.integers(1, 8), groups=st.integers(1, 4), extra_h=st.integers(0, 60),
       extra_w=st.integers(0, 60), k=pair(1, 7), s=pair(1, 3), p=pair(0, 3), n=st.integers(1, 3))
@example(a=3, b=64, groups=1, extra_h=221, extra_w=221, k=3, s=1, p=1, n=1)
@example(a=1, b=1, groups=32, extra_h=54, extra_w=54, k=3, s=2, p=1, n=1)  # depthwise
def test_conv2d_macs_match_flop_counter(a, b, groups, extra_h, extra_w, k, s, p, n):
    kh, kw = (k, k) if isinstance(k, int) else k
    cin, cout, h, w = a * groups, b * groups, kh + extra_h, kw + extra_w
    macs = conv2d_macs(cin, cout, h, w, k, s, p, 1, groups, batch_size=n)
    assert 2 * macs == _torch_conv_flops(cin, cout, h, w, k, s, p, groups, n)


# --------------------------------------------------------------------------------------------
# IoU, precision/recall/F1, cross-entropy, dropout
# --------------------------------------------------------------------------------------------


def _torch_box_iou(a, b) -> float:
    """torchvision.ops.box_iou, written out (torchvision is not a dependency)."""
    b1, b2 = torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    lt = torch.max(b1[:, None, :2], b2[:, :2])
    rb = torch.min(b1[:, None, 2:], b2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return float(inter / (area1[:, None] + area2 - inter))


_coord = st.floats(0, 50, allow_nan=False)
_extent = st.floats(0.5, 30, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(ax=_coord, ay=_coord, aw=_extent, ah=_extent, bx=_coord, by=_coord, bw=_extent, bh=_extent)
@example(ax=0, ay=0, aw=2, ah=2, bx=1, by=1, bw=2, bh=2)  # 1 / 7
@example(ax=0, ay=0, aw=2, ah=2, bx=2, by=0, bw=2, bh=2)  # touching edges: 0
@example(ax=1, ay=1, aw=3, ah=3, bx=1, by=1, bw=3, bh=3)  # identical: 1
def test_box_iou_matches_torch(ax, ay, aw, ah, bx, by, bw, bh):
    a, b = [ax, ay, ax + aw, ay + ah], [bx, by, bx + bw, by + bh]
    assert box_iou(a, b) == pytest.approx(_torch_box_iou(a, b), abs=1e-9)


def test_box_iou_known_value_and_degenerate_box():
    assert box_iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    with pytest.raises(InvalidConfig):
        box_iou([0, 0, 0, 2], [0, 0, 1, 1])


@settings(max_examples=300, deadline=None)
@given(tp=st.integers(0, 200), fp=st.integers(0, 200), fn=st.integers(0, 200))
@example(tp=0, fp=3, fn=4)
@example(tp=5, fp=0, fn=0)
def test_precision_recall_f1_formulas(tp, fp, fn):
    if tp + fp == 0 or tp + fn == 0:
        with pytest.raises(InvalidConfig):
            precision_recall_f1(tp, fp, fn)
        return
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    assert precision == tp / (tp + fp)
    assert recall == tp / (tp + fn)
    harmonic = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    assert f1 == pytest.approx(harmonic)


def test_precision_recall_f1_edge_cases_and_draws_avoid_undefined():
    assert precision_recall_f1(0, 3, 4) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(5, 0, 0) == (1.0, 1.0, 1.0)
    for counts in ((0, 0, 4), (0, 3, 0), (0, 0, 0)):
        with pytest.raises(InvalidConfig):
            precision_recall_f1(*counts)
    ranges = {"tp": {"min": 0, "max": 2}, "fp": {"min": 0, "max": 2}, "fn": {"min": 0, "max": 2}}
    for ask in ("precision", "recall", "f1"):
        for seed in range(100):
            p = draw("precision_recall_f1", {**ranges, "ask": ask}, seed).params
            assert p["tp"] + p["fp"] > 0 and p["tp"] + p["fn"] > 0


@settings(max_examples=300, deadline=None)
@given(logits=st.lists(st.integers(-6, 6) | st.floats(-5, 5, allow_nan=False), min_size=2, max_size=6),
       data=st.data())
@example(logits=[2, 1, 0], data=None)
def test_softmax_cross_entropy_matches_torch(logits, data):
    target = 0 if data is None else data.draw(st.integers(0, len(logits) - 1))
    prob, loss = softmax_cross_entropy(logits, target)
    z = torch.tensor([logits], dtype=torch.float64)
    assert loss == pytest.approx(float(F.cross_entropy(z, torch.tensor([target]))), abs=1e-9)
    assert prob == pytest.approx(float(F.softmax(z, dim=1)[0, target]), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(p=st.floats(0, 0.9), x=st.floats(0.5, 10))
@example(p=0.5, x=3.0)
@example(p=0.0, x=2.0)
def test_inverted_dropout_matches_torch(p, x):
    scale, value = inverted_dropout(p, x)
    drop = nn.Dropout(p).train()
    torch.manual_seed(0)
    y = drop(torch.full((4096,), x, dtype=torch.float64))
    kept = y[y != 0]
    assert kept.numel() > 0
    assert torch.allclose(kept, torch.full_like(kept, value))
    assert scale == pytest.approx(1 / (1 - p))
    drop.eval()
    assert torch.equal(drop(torch.full((4,), x)), torch.full((4,), x))  # identity at inference


def test_inverted_dropout_rejects_p_of_one():
    with pytest.raises(InvalidConfig):
        inverted_dropout(1.0, 1.0)


# --------------------------------------------------------------------------------------------
# Drawn instances: valid, deterministic, and right according to PyTorch
# --------------------------------------------------------------------------------------------


def test_registry_matches_format_table():
    assert list(CALCULATORS) == list(FORMAT_PARAMS)
    for name, calc in CALCULATORS.items():
        assert calc.name == name
        assert list(calc.defaults) == FORMAT_PARAMS[name]
        text = calc.describe()
        assert name in text and calc.title in text
        assert all(f"{param}:" in text for param in FORMAT_PARAMS[name])


def _torch_answer(inst: Instance) -> Any:
    """Recompute a drawn instance's answer with PyTorch (meta tensors: shapes without compute)."""
    p, name = inst.params, inst.calculator
    meta = {"device": "meta"}
    if name == "conv2d_output_shape":
        conv = nn.Conv2d(p["in_channels"], p["out_channels"], _t(p["kernel_size"]), _t(p["stride"]),
                         _t(p["padding"]), _t(p["dilation"]), p["groups"], **meta)
        return tuple(conv(torch.empty(p["input_shape"], **meta)).shape)
    if name == "conv_transpose2d_output_shape":
        conv = nn.ConvTranspose2d(p["in_channels"], p["out_channels"], _t(p["kernel_size"]), _t(p["stride"]),
                                  _t(p["padding"]), _t(p["output_padding"]), dilation=_t(p["dilation"]), **meta)
        return tuple(conv(torch.empty(p["input_shape"], **meta)).shape)
    if name == "maxpool2d_output_shape":
        pool = nn.MaxPool2d(_t(p["kernel_size"]), _t(p["stride"]), _t(p["padding"]), _t(p["dilation"]),
                            ceil_mode=p["ceil_mode"])
        return tuple(pool(torch.empty(p["input_shape"], **meta)).shape)
    if name == "avgpool2d_output_shape":
        pool = nn.AvgPool2d(_t(p["kernel_size"]), _t(p["stride"]), _t(p["padding"]), ceil_mode=p["ceil_mode"])
        return tuple(pool(torch.empty(p["input_shape"], **meta)).shape)
    if name == "conv2d_params":
        return _numel(nn.Conv2d(p["in_channels"], p["out_channels"], _t(p["kernel_size"]), groups=p["groups"],
                                bias=p["bias"], **meta).parameters())
    if name == "depthwise_separable_params":
        c_in, c_out, k, bias = p["in_channels"], p["out_channels"], _t(p["kernel_size"]), p["bias"]
        separable = _numel(nn.Conv2d(c_in, c_in, k, groups=c_in, bias=bias, **meta).parameters()) + _numel(
            nn.Conv2d(c_in, c_out, 1, bias=bias, **meta).parameters())
        standard = _numel(nn.Conv2d(c_in, c_out, k, bias=bias, **meta).parameters())
        return {"separable": separable, "standard": standard, "ratio": separable / standard}[p["ask"]]
    if name == "batchnorm_params":
        bn = nn.BatchNorm2d(p["num_features"], **meta)
        return {"learnable": _numel(bn.parameters()), "running": bn.running_mean.numel() + bn.running_var.numel(),
                "state_dict": _numel(bn.state_dict().values())}[p["ask"]]
    if name == "linear_params":
        return _numel(nn.Linear(p["in_features"], p["out_features"], p["bias"], **meta).parameters())
    if name == "receptive_field":
        return _autograd_rf(p["layers"])
    if name == "conv2d_macs":
        flops = _torch_conv_flops(p["in_channels"], p["out_channels"], p["height"], p["width"],
                                  p["kernel_size"], p["stride"], p["padding"], p["groups"])
        return flops // 2 if p["ask"] == "macs" else flops
    if name == "stacked_3x3_vs_5x5":
        c, n = p["in_channels"], p["num_layers"]
        stacked = _numel(nn.Sequential(*(nn.Conv2d(c, c, 3, bias=False, **meta) for _ in range(n))).parameters())
        single = _numel(nn.Conv2d(c, c, p["single_kernel"], bias=False, **meta).parameters())
        return {"stacked_params": stacked, "single_params": single, "saving": single - stacked,
                "receptive_field": _autograd_rf([{"kernel_size": 3, "stride": 1}] * n)}[p["ask"]]
    if name == "box_iou":
        return _torch_box_iou(p["box_a"], p["box_b"])
    if name == "precision_recall_f1":
        tp, fp, fn = p["tp"], p["fp"], p["fn"]
        return {"precision": tp / (tp + fp), "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn)}[p["ask"]]
    if name == "softmax_cross_entropy":
        z = torch.tensor([p["logits"]], dtype=torch.float64)
        if p["ask"] == "prob":
            return float(F.softmax(z, dim=1)[0, p["target"]])
        return float(F.cross_entropy(z, torch.tensor([p["target"]])))
    if name == "inverted_dropout_scale":
        torch.manual_seed(0)
        y = nn.Dropout(p["p"]).train()(torch.full((256,), float(p["x"]), dtype=torch.float64))
        value = float(y[y != 0][0])
        return value / p["x"] if p["ask"] == "scale" else value
    if name == "dilated_receptive_field":
        return _autograd_rf(p["layers"], two_d=True)
    theirs = torch_reference.answer(inst)
    assert theirs is not None, name
    return theirs


# Wider ranges than the defaults, so drawn instances also exercise every option and every `ask`.
WIDE: dict[str, dict[str, Any]] = {
    "conv2d_output_shape": {"height": {"min": 1, "max": 40}, "width": {"min": 1, "max": 40},
                            "in_channels": [4, 8], "out_channels": [4, 8], "kernel_size": [1, 3, [3, 5], 7],
                            "stride": [1, 2, 3, [2, 1]], "padding": [0, 1, [2, 0]], "dilation": [1, 2],
                            "groups": [1, 2, 4]},
    "conv_transpose2d_output_shape": {"kernel_size": [1, 2, 3, [2, 3]], "stride": [1, 2, 3],
                                      "padding": [0, 1, 2], "output_padding": [0, 1, 2], "dilation": [1, 2]},
    "maxpool2d_output_shape": {"height": {"min": 1, "max": 30}, "kernel_size": [1, 2, 3, [2, 3]],
                               "stride": [None, 1, 2, 3], "padding": [0, 1], "dilation": [1, 2]},
    "avgpool2d_output_shape": {"height": {"min": 1, "max": 30}, "width": {"min": 1, "max": 30},
                               "kernel_size": [1, 2, 3, [2, 3]], "stride": [None, 1, 2, 3], "padding": [0, 1]},
    "conv2d_params": {"kernel_size": [1, 3, [1, 7]], "groups": [1, 2, 4, 8], "bias": [True, False]},
    "depthwise_separable_params": {"kernel_size": [3, 5, 7], "bias": [True, False],
                                   "ask": ["separable", "standard", "ratio"]},
    "batchnorm_params": {"ask": ["learnable", "running", "state_dict"]},
    "linear_params": {"bias": [True, False]},
    "receptive_field": {"num_layers": {"min": 1, "max": 6}, "kernel_size": [1, 2, 3, 5, 7], "stride": [1, 2, 3]},
    "conv2d_macs": {"kernel_size": [1, 3, 5, [1, 3]], "stride": [1, 2], "padding": [None, 0, 1],
                    "groups": [1, 2], "ask": ["macs", "flops"], "width": [None, 14]},
    "stacked_3x3_vs_5x5": {"num_layers": [1, 2, 3, 4],
                           "ask": ["stacked_params", "single_params", "receptive_field", "saving"]},
    "box_iou": {"x1": {"min": 0.0, "max": 5.0}, "size": {"min": 1, "max": 6}},
    "precision_recall_f1": {"ask": ["precision", "recall", "f1"]},
    "softmax_cross_entropy": {"num_classes": [2, 3, 10], "logit": {"min": -3.0, "max": 3.0}, "ask": ["prob", "loss"]},
    "inverted_dropout_scale": {"p": {"min": 0.0, "max": 0.9}, "x": {"min": 0.5, "max": 9.5}, "ask": ["scale", "value"]},
    "mha_params": {"embed_dim": [64, 96, 768], "num_heads": [1, 3, 8, 12], "bias": [True, False],
                   "ask": ["total", "in_proj"]},
    "transformer_layer_params": {"d_model": [64, 512], "nhead": [4, 8], "dim_feedforward": [None, 100, 3072],
                                 "ask": ["total", "attention", "ffn", "norm"]},
    "attention_macs": {"seq_len": {"min": 1, "max": 300}, "embed_dim": [64, 96], "num_heads": [1, 2, 4],
                       "ask": ["qk", "projections", "total", "flops"]},
    "rnn_params": {"cell": ["lstm", "gru", "rnn"], "input_size": {"min": 1, "max": 300},
                   "hidden_size": {"min": 1, "max": 300}, "num_layers": [1, 2, 3], "bias": [True, False]},
    "vit_tokens": {"image_size": [96, 224, 384, 512], "patch_size": [4, 8, 14, 16, 32], "in_channels": [1, 3],
                   "ask": ["tokens", "patches", "embed_params", "pos_params"]},
    "pixel_shuffle_shape": {"batch_size": [1, 4], "out_channels": [1, 3, 5], "upscale_factor": [1, 2, 3, 5],
                            "height": {"min": 1, "max": 20}, "width": [None, 7]},
    "unfold_shape": {"height": {"min": 1, "max": 20}, "kernel_size": [1, 2, 3, [2, 3]], "stride": [1, 2, [1, 3]],
                     "padding": [0, 1, 2], "dilation": [1, 2]},
    "interpolate_shape": {"height": {"min": 1, "max": 40}, "width": [None, 9],
                          "scale_factor": [0.25, 0.5, 0.75, 1.5, 1.7, 2, 3], "mode": ["bilinear", "nearest", "bicubic"]},
    "interpolate_source_index": {"in_size": {"min": 2, "max": 12}, "out_size": {"min": 2, "max": 24}},
    "resnet_stage_shape": {"height": {"min": 33, "max": 1400}, "width": [None, 600, 1333],
                           "arch": ["resnet18", "resnet50"], "stage": [2, 3, 4, 5]},
    "fpn_anchor_count": {"height": {"min": 100, "max": 1400}, "width": [None, 1333], "min_level": [2, 3],
                         "max_level": [5, 6, 7], "anchors_per_location": [1, 3, 9]},
    "box_giou": {"x1": {"min": 0.0, "max": 5.0}, "size": {"min": 1, "max": 6}, "ask": ["giou", "giou_loss", "diou"]},
    "dice_iou": {"tp": {"min": 1, "max": 50}, "fp": {"min": 0, "max": 50}, "fn": {"min": 0, "max": 50},
                 "ask": ["dice", "iou"]},
    "warmup_cosine_lr": {"base_lr": [0.1, 3e-4], "warmup_steps": [1, 5, 20], "total_steps": [30, 100],
                         "start_factor": [0.01, 0.5, 1.0], "eta_min": [0, 1e-5]},
    "adam_step": {"lr": [1e-4, 0.01], "beta1": [0.0, 0.9], "beta2": [0.99, 0.999], "num_steps": [1, 2, 3, 4],
                  "grad": {"min": -3.0, "max": 3.0}, "ask": ["m_hat", "v_hat", "update", "total_update"]},
    "label_smoothing_ce": {"num_classes": [2, 3, 10], "logit": {"min": -3.0, "max": 3.0}, "smoothing": [0.05, 0.1, 0.3],
                           "ask": ["loss", "target_weight"]},
    "int8_quantization": {"scheme": ["symmetric", "affine"], "x_min": {"min": -8.0, "max": -0.1},
                          "x_max": {"min": 0.1, "max": 8.0}, "ask": ["scale", "zero_point", "q", "dequant"]},
    "activation_memory": {"batch_size": [1, 3, 64], "in_channels": [1, 96], "height": {"min": 1, "max": 300},
                          "dtype": ["float32", "float16", "bfloat16", "int8"], "unit": ["MB", "MiB", "GB", "GiB"]},
    "kv_cache_memory": {"num_layers": {"min": 1, "max": 80}, "seq_len": {"min": 1, "max": 32768},
                        "num_kv_heads": [1, 4, 8, 32], "dtype": ["float32", "float16", "int8"],
                        "unit": ["MB", "MiB", "GB", "GiB"]},
    "model_memory": {"num_params_m": {"min": 0.5, "max": 7000.0}, "dtype": ["float32", "float16", "bfloat16", "int8"],
                     "unit": ["MB", "MiB", "GB", "GiB"], "ask": ["weights", "adam"]},
    "dilated_receptive_field": {"num_layers": {"min": 1, "max": 5}, "kernel_size": [2, 3, 5],
                                "dilation": [1, 2, 3, 5]},
}


@pytest.mark.parametrize("ranges_kind", ["defaults", "wide"])
@pytest.mark.parametrize("name", list(CALCULATORS))
def test_drawn_instances_are_valid_and_agree_with_torch(name, ranges_kind):
    calc = CALCULATORS[name]
    ranges = {} if ranges_kind == "defaults" else WIDE[name]
    assert validate_ranges(name, ranges) == []
    asks = set()
    for seed in range(60):
        inst = draw(name, ranges, seed)
        assert (inst.calculator, inst.seed, inst.kind) == (name, seed, calc.kind)
        json.dumps(inst.params)  # templates and the API ship params as JSON
        assert inst.worked.strip()
        asks.add(inst.params.get("ask"))
        expected = _torch_answer(inst)
        if inst.kind == "shape":
            assert inst.order == calc.order and len(inst.order) == len(inst.answer) and isinstance(inst.answer, tuple)
            assert all(isinstance(v, int) and v >= 1 for v in inst.answer)
            assert inst.answer == expected
            assert str(inst.answer[2]) in inst.worked
        elif isinstance(inst.answer, int):  # counts are exact (a quantised value may be negative, never 0)
            assert inst.answer == expected and inst.answer != 0 and inst.tolerance == 0
            assert inst.answer > 0 or name == "int8_quantization"
        else:  # rounded to 4 decimals (or, under a relative tolerance, 6 significant digits): far inside it
            assert isinstance(inst.answer, float)
            slack = max(5e-5, 1e-5 * abs(expected)) if inst.rel_tolerance else 5e-5
            assert abs(inst.answer - expected) <= slack + 1e-12, (inst.answer, expected)
            assert inst.tolerance == 0.01 or inst.rel_tolerance == 0.01 or (name, inst.tolerance) == ("int8_quantization", 0.001)
            assert abs(inst.answer) >= 5 * inst.tolerance  # answering 0 never passes
        if inst.kind == "numeric":
            assert inst.order is None
    if ranges_kind == "wide" and "ask" in calc.params:
        assert len(asks) == len(calc.params["ask"].choices)


def test_defaults_always_valid_over_many_seeds():
    for name in CALCULATORS:
        for seed in range(300):
            inst = draw(name, {}, seed)
            assert inst.answer
            if inst.kind == "numeric":
                assert inst.tolerance >= 0 and inst.rel_tolerance >= 0


def test_draw_is_deterministic_and_varies_with_seed():
    for name in CALCULATORS:
        first = [draw(name, {}, seed) for seed in range(20)]
        assert first == [draw(name, {}, seed) for seed in range(20)]
        assert len({json.dumps(i.params, sort_keys=True) for i in first}) > 1


def _snapshot() -> str:
    return json.dumps([[i.params, list(i.answer) if isinstance(i.answer, tuple) else i.answer, i.worked]
                       for name in CALCULATORS for i in (draw(name, WIDE[name], s) for s in range(5))],
                      ensure_ascii=False)


def test_draw_is_deterministic_across_processes():
    # Same draws as _snapshot(), without importing this module (and torch) in the child process.
    code = (f"import json; from app.calculators import CALCULATORS, draw; WIDE = json.loads({json.dumps(WIDE)!r}); "
            "print(json.dumps([[i.params, list(i.answer) if isinstance(i.answer, tuple) else i.answer, i.worked] "
            "for name in CALCULATORS for i in (draw(name, WIDE[name], s) for s in range(5))], ensure_ascii=False))")
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True)
        outputs.add(run.stdout.strip())
    assert outputs == {_snapshot()}


def test_ranges_override_defaults():
    inst = draw("conv2d_output_shape", {"height": 32, "width": 16, "kernel_size": [[3, 5]], "padding": 0,
                                        "stride": 1, "in_channels": {"min": 5, "max": 5}}, 0)
    assert inst.params["input_shape"] == [1, 5, 32, 16]
    assert inst.params["kernel_size"] == [3, 5]
    assert inst.answer[2:] == (30, 12)
    for seed in range(30):
        p = draw("conv2d_output_shape", {"out_channels": [7, 9], "height": {"min": 20, "max": 22}}, seed).params
        assert p["out_channels"] in (7, 9) and 20 <= p["height"] <= 22 and p["width"] == p["height"]
        q = draw("inverted_dropout_scale", {"p": {"min": 0.1, "max": 0.3}}, seed).params
        assert 0.1 <= q["p"] <= 0.3 and round(q["p"], 2) == q["p"]
    assert draw("maxpool2d_output_shape", {"stride": None, "kernel_size": 2}, 0).params["stride"] == 2


def test_stacked_and_named_examples():
    inst = draw("stacked_3x3_vs_5x5", {"in_channels": 64, "num_layers": 2, "ask": "saving"}, 0)
    assert inst.answer == 25 * 64 * 64 - 18 * 64 * 64
    bn = draw("batchnorm_params", {"num_features": 64, "ask": "state_dict"}, 0)
    assert bn.answer == 257
    conv = draw("conv2d_params", {"in_channels": 3, "out_channels": 64, "kernel_size": 3}, 0)
    assert conv.answer == 1792 and "1792" in conv.worked


def test_validate_ranges_reports_problems():
    def one(name: str, ranges: dict[str, Any], needle: str) -> None:
        problems = validate_ranges(name, ranges)
        assert len(problems) == 1 and needle in problems[0], problems

    one("conv3d_output_shape", {}, "未知计算器")
    one("conv2d_output_shape", {"kernel": 3}, "kernel")
    one("conv2d_output_shape", {"height": {"min": 3}}, "min 和 max")
    one("conv2d_output_shape", {"height": {"min": 9, "max": 3}}, "大于")
    one("conv2d_output_shape", {"height": {"min": "a", "max": 3}}, "height")
    one("conv2d_output_shape", {"height": {"min": 1.5, "max": 3}}, "整数")
    one("conv2d_output_shape", {"height": []}, "空列表")
    one("conv2d_output_shape", {"kernel_size": 2.5}, "kernel_size")
    one("conv2d_output_shape", {"kernel_size": [3, [1, 2, 3]]}, "kernel_size")
    one("conv2d_output_shape", {"in_channels": True}, "in_channels")
    one("conv2d_params", {"bias": "yes"}, "bias")
    one("batchnorm_params", {"ask": "weights"}, "learnable")
    one("batchnorm_params", {"ask": {"min": 1, "max": 2}}, "ask")
    one("conv2d_output_shape", {"kernel_size": 9, "height": {"min": 2, "max": 3}, "padding": 0}, "永远")
    one("maxpool2d_output_shape", {"kernel_size": 3, "padding": 2}, "永远")
    one("conv_transpose2d_output_shape", {"stride": 1, "output_padding": 1}, "永远")
    # Only one group count in 1500 is valid for a single channel: some seeds never find it.
    one("conv2d_output_shape", {"in_channels": 1, "groups": {"min": 1, "max": 1500}}, "不是总能")
    assert validate_ranges("conv2d_output_shape", {"kernel_size": [[3, 5], 3], "width": None}) == []
    several = validate_ranges("conv2d_params", {"bias": 1, "groups": 1.5, "kernels": 3})
    assert len(several) == 3 and any("kernels" in p for p in several)


def test_draw_raises_param_range_error():
    with pytest.raises(ParamRangeError):
        draw("nope", {}, 0)
    with pytest.raises(ParamRangeError, match="ceil"):
        draw("avgpool2d_output_shape", {"ceil": True}, 0)
    with pytest.raises(ParamRangeError):
        draw("conv2d_output_shape", {"kernel_size": 9, "height": {"min": 2, "max": 3}, "padding": 0}, 0)
    assert issubclass(ParamRangeError, ValueError)
