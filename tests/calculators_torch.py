"""PyTorch's own answers for the second family of calculators (app/calculators/formulas_models.py): real
modules, functional calls, schedulers, optimisers and observers, never our formulas. Shared by
tests/test_calculators.py (drawn instances) and tests/test_calculators_models.py (random configurations).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch warns at import when numpy is absent; irrelevant here
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.ao.quantization import MinMaxObserver
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
    from torch.utils.flop_counter import FlopCounterMode

META = {"device": "meta"}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "int8": torch.int8}
UNITS = {"MB": 10**6, "MiB": 2**20, "GB": 10**9, "GiB": 2**30}


def numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


def t(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def mha(embed_dim: int, num_heads: int, bias: bool) -> dict[str, int]:
    m = nn.MultiheadAttention(embed_dim, num_heads, bias=bias, **META)
    in_proj = m.in_proj_weight.numel() + (m.in_proj_bias.numel() if bias else 0)
    return {"in_proj": in_proj, "out_proj": numel(m.out_proj.parameters()), "total": numel(m.parameters())}


def encoder_layer(d_model: int, nhead: int, dim_feedforward: int) -> dict[str, int]:
    layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, **META)
    return {"attention": numel(layer.self_attn.parameters()),
            "ffn": numel(layer.linear1.parameters()) + numel(layer.linear2.parameters()),
            "norm": numel(layer.norm1.parameters()) + numel(layer.norm2.parameters()),
            "total": numel(layer.parameters())}


def attention_flops(seq_len: int, embed_dim: int, num_heads: int, batch_size: int = 1) -> dict[str, int]:
    """FLOPs of nn.MultiheadAttention's forward by op: the four projections, and QKᵀ with AV."""
    m = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, **META)
    x = torch.empty(batch_size, seq_len, embed_dim, **META)
    with FlopCounterMode(display=False) as counter:
        m(x, x, x)  # need_weights=True: the math path, whose matmuls the counter sees
    by_op = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    # Linear layers run as addmm (or mm plus a bias add, for some batch shapes); the attention as bmm.
    assert set(by_op) <= {"aten.addmm", "aten.mm", "aten.bmm"}, by_op
    return {"projections": by_op.get("aten.addmm", 0) + by_op.get("aten.mm", 0), "matmuls": by_op["aten.bmm"],
            "total": counter.get_total_flops()}


def rnn(cell: str, input_size: int, hidden_size: int, num_layers: int, bias: bool, bidirectional: bool) -> int:
    module = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
    return numel(module(input_size, hidden_size, num_layers, bias=bias, bidirectional=bidirectional, **META).parameters())


def vit(image_size: int, patch_size: int, embed_dim: int, in_channels: int) -> dict[str, int]:
    embed = nn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size, **META)
    x = embed(torch.empty(1, in_channels, image_size, image_size, **META)).flatten(2).transpose(1, 2)
    cls = torch.empty(1, 1, embed_dim, **META)
    tokens = torch.cat([cls, x], dim=1)
    pos = nn.Parameter(torch.empty(1, tokens.shape[1], embed_dim, **META))
    return {"patches": x.shape[1], "tokens": tokens.shape[1], "embed_params": numel(embed.parameters()),
            "pos_params": pos.numel()}


def resnet_stages(height: int, width: int, arch: str) -> list[tuple[int, int, int]]:
    """(C, H, W) of C2…C5: torchvision's stem and the strided first conv of each stage, as real layers
    (the residual branch's 1×1/s2 downsample gives the same size); channels as torchvision builds them."""
    expansion = {"resnet18": 1, "resnet50": 4}[arch]  # BasicBlock / Bottleneck
    x = torch.empty(1, 3, height, width, **META)
    x = nn.MaxPool2d(3, 2, 1)(nn.Conv2d(3, 64, 7, 2, 3, bias=False, **META)(x))
    out = [(64 * expansion, x.shape[2], x.shape[3])]
    for width_mult in (2, 4, 8):
        main = nn.Conv2d(x.shape[1], 64 * width_mult, 3, 2, 1, bias=False, **META)(x)
        shortcut = nn.Conv2d(x.shape[1], 64 * width_mult, 1, 2, bias=False, **META)(x)
        assert main.shape == shortcut.shape  # the residual addition needs them equal
        x = main
        out.append((64 * width_mult * expansion, x.shape[2], x.shape[3]))
    return out


def fpn_sizes(height: int, width: int, min_level: int, max_level: int) -> dict[int, tuple[int, int]]:
    sizes = {level: (h, w) for level, (_, h, w) in zip((2, 3, 4, 5), resnet_stages(height, width, "resnet50"),
                                                       strict=True)}
    x = torch.empty(1, 8, *sizes[5], **META)
    for level in (6, 7):  # RetinaNet's extra levels: 3×3/s2/p1 convs
        x = nn.Conv2d(8, 8, 3, 2, 1, **META)(x)
        sizes[level] = (x.shape[2], x.shape[3])
    return {level: sizes[level] for level in range(min_level, max_level + 1)}


def giou_diou(a, b) -> dict[str, float]:
    """torchvision.ops.generalized_box_iou / distance_box_iou, written out (torchvision is not a dependency)."""
    b1, b2 = torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    lt, rb = torch.max(b1[:, None, :2], b2[:, :2]), torch.min(b1[:, None, 2:], b2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2 - inter
    iou = inter / union
    lti, rbi = torch.min(b1[:, None, :2], b2[:, :2]), torch.max(b1[:, None, 2:], b2[:, 2:])
    whi = (rbi - lti).clamp(min=0)
    hull = whi[..., 0] * whi[..., 1]
    diag = (whi ** 2).sum(-1)
    c1, c2 = (b1[:, None, :2] + b1[:, None, 2:]) / 2, (b2[:, :2] + b2[:, 2:]) / 2
    centre = ((c1 - c2) ** 2).sum(-1)
    giou = float(iou - (hull - union) / hull)
    return {"giou": giou, "giou_loss": 1 - giou, "diou": float(iou - centre / diag)}


def dice_iou(tp: int, fp: int, fn: int, tn: int = 7) -> dict[str, float]:
    """From real masks with those counts (background pixels included, which both measures ignore)."""
    pred = torch.cat([torch.ones(tp), torch.ones(fp), torch.zeros(fn), torch.zeros(tn)]).bool()
    gt = torch.cat([torch.ones(tp), torch.zeros(fp), torch.ones(fn), torch.zeros(tn)]).bool()
    inter = (pred & gt).sum().item()
    return {"dice": 2 * inter / (pred.sum().item() + gt.sum().item()), "iou": inter / (pred | gt).sum().item()}


def warmup_cosine(base_lr: float, step: int, warmup: int, total: int, start_factor: float, eta_min: float) -> float:
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = SequentialLR(opt, [LinearLR(opt, start_factor=start_factor, total_iters=warmup),
                               CosineAnnealingLR(opt, T_max=total - warmup, eta_min=eta_min)], milestones=[warmup])
    for _ in range(step):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


def adam(grads: list[float], lr: float, beta1: float, beta2: float) -> dict[str, float]:
    p = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2))
    before = start = float(p.detach())
    out: dict[str, float] = {}
    for step, g in enumerate(grads, 1):
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        state = opt.state[p]
        out = {"m_hat": float(state["exp_avg"]) / (1 - beta1**step),
               "v_hat": float(state["exp_avg_sq"]) / (1 - beta2**step), "update": before - float(p.detach())}
        before = float(p.detach())
    out["total_update"] = start - float(p.detach())
    return out


def label_smoothing(logits: list[float], target: int, smoothing: float) -> dict[str, float]:
    z = torch.tensor([logits], dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(z, torch.tensor([target]), label_smoothing=smoothing)
    loss.backward()
    # ∂loss/∂z = softmax(z) - y: the smoothed target y as PyTorch builds it
    y = F.softmax(z.detach(), dim=1) - z.grad
    return {"loss": loss.item(), "target_weight": float(y[0, target])}


def quantize(x: float, x_min: float, x_max: float, scheme: str) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated; the arithmetic is not
        if scheme == "symmetric":
            dtype = torch.qint8
            observer = MinMaxObserver(dtype=dtype, qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127)
        else:
            dtype = torch.quint8
            observer = MinMaxObserver(dtype=dtype, qscheme=torch.per_tensor_affine)
        observer(torch.tensor([x_min, x_max]))
        scale, zero_point = (float(v) for v in observer.calculate_qparams())
        q = torch.quantize_per_tensor(torch.tensor([x]), scale, int(zero_point), dtype)
        return {"scale": scale, "zero_point": int(zero_point), "q": int(q.int_repr()), "dequant": float(q.dequantize())}


def nbytes(shape, dtype: str) -> int:
    x = torch.empty(shape, dtype=DTYPES[dtype], **META)
    return x.numel() * x.element_size()


def kv_cache(num_layers: int, batch_size: int, seq_len: int, num_kv_heads: int, head_dim: int, dtype: str) -> int:
    cache = [(torch.empty(batch_size, num_kv_heads, seq_len, head_dim, dtype=DTYPES[dtype], **META),
              torch.empty(batch_size, num_kv_heads, seq_len, head_dim, dtype=DTYPES[dtype], **META))
             for _ in range(num_layers)]
    return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in cache)


def model_bytes(num_params: int, dtype: str, with_adam: bool) -> int:
    """Weights (+ gradients and Adam's state after one real step, its scalar `step` counter aside)."""
    p = nn.Parameter(torch.empty(num_params, dtype=DTYPES[dtype], **META), requires_grad=dtype != "int8")
    total = p.numel() * p.element_size()
    if with_adam:
        opt = torch.optim.Adam([p])
        p.grad = torch.empty_like(p)
        opt.step()
        moments = [v for k, v in opt.state[p].items() if k in ("exp_avg", "exp_avg_sq")]
        total += p.grad.numel() * p.grad.element_size() + sum(m.numel() * m.element_size() for m in moments)
    return total


def answer(inst) -> Any:
    """PyTorch's answer for a drawn instance of the second family; None for a calculator not here."""
    p, name = inst.params, inst.calculator
    if name == "mha_params":
        return mha(p["embed_dim"], p["num_heads"], p["bias"])[p["ask"]]
    if name == "transformer_layer_params":
        return encoder_layer(p["d_model"], p["nhead"], p["dim_feedforward"])[p["ask"]]
    if name == "attention_macs":
        flops = attention_flops(p["seq_len"], p["embed_dim"], p["num_heads"])
        return {"qk": flops["matmuls"] // 4, "projections": flops["projections"] // 2,
                "total": flops["total"] // 2, "flops": flops["total"]}[p["ask"]]
    if name == "rnn_params":
        return rnn(p["cell"], p["input_size"], p["hidden_size"], p["num_layers"], p["bias"], p["bidirectional"])
    if name == "vit_tokens":
        return vit(p["image_size"], p["patch_size"], p["embed_dim"], p["in_channels"])[p["ask"]]
    if name == "pixel_shuffle_shape":
        return tuple(nn.PixelShuffle(p["upscale_factor"])(torch.empty(p["input_shape"], **META)).shape)
    if name == "unfold_shape":
        x = torch.empty(p["input_shape"], **META)
        return tuple(F.unfold(x, t(p["kernel_size"]), t(p["dilation"]), t(p["padding"]), t(p["stride"])).shape)
    if name == "interpolate_shape":
        x = torch.empty(p["input_shape"])
        return tuple(F.interpolate(x, scale_factor=p["scale_factor"], mode=p["mode"]).shape)
    if name == "interpolate_source_index":
        ramp = torch.arange(p["in_size"], dtype=torch.float64).view(1, 1, -1)
        y = F.interpolate(ramp, size=p["out_size"], mode="linear", align_corners=p["align_corners"])
        return float(y[0, 0, p["out_index"]])
    if name == "resnet_stage_shape":
        c, h, w = resnet_stages(p["height"], p["width"], p["arch"])[p["stage"] - 2]
        return (p["batch_size"], c, h, w)
    if name == "fpn_anchor_count":
        sizes = fpn_sizes(p["height"], p["width"], p["min_level"], p["max_level"])
        return sum(h * w for h, w in sizes.values()) * p["anchors_per_location"]
    if name == "box_giou":
        return giou_diou(p["box_a"], p["box_b"])[p["ask"]]
    if name == "dice_iou":
        return dice_iou(p["tp"], p["fp"], p["fn"])[p["ask"]]
    if name == "warmup_cosine_lr":
        return warmup_cosine(p["base_lr"], p["step"], p["warmup_steps"], p["total_steps"], p["start_factor"],
                             p["eta_min"])
    if name == "adam_step":
        return adam(p["grads"], p["lr"], p["beta1"], p["beta2"])[p["ask"]]
    if name == "label_smoothing_ce":
        return label_smoothing(p["logits"], p["target"], p["smoothing"])[p["ask"]]
    if name == "int8_quantization":
        return quantize(p["x"], p["x_min"], p["x_max"], p["scheme"])[p["ask"]]
    if name == "activation_memory":
        return nbytes(p["input_shape"], p["dtype"]) / UNITS[p["unit"]]
    if name == "kv_cache_memory":
        return kv_cache(p["num_layers"], p["batch_size"], p["seq_len"], p["num_kv_heads"], p["head_dim"],
                        p["dtype"]) / UNITS[p["unit"]]
    if name == "model_memory":
        return model_bytes(p["num_params"], p["dtype"], p["ask"] == "adam") / UNITS[p["unit"]]
    return None


def close(ours: float, theirs: float, rel: float = 1e-6) -> bool:
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=1e-9)
