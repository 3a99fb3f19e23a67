"""Write a synthetic, valid content directory (banks + rounds) for load and HTTP benchmarks.

    python bench/make_synthetic_bank.py /tmp/syn --questions 10000 --banks 20 --seed 1

The output is deterministic for a given (questions, banks, seed). Question types follow realistic
proportions (choice ~50%, open ~25%, numeric/shape ~15%, generated ~10%), prompts mix Chinese and
English at ~100-300 characters with some code blocks and $math$, and topics come from a ~60-word
vocabulary. Check it with `mianjing content check OUT_DIR`.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

TOPICS = [
    "BN", "LayerNorm", "归一化", "卷积计算", "参数量", "计算量", "感受野", "池化", "激活函数", "过拟合",
    "正则化", "Dropout", "数据增强", "优化器", "学习率", "损失函数", "交叉熵", "反向传播", "梯度消失", "残差网络",
    "注意力机制", "Transformer", "ViT", "目标检测", "锚框", "NMS", "IoU", "语义分割", "实例分割", "图像分类",
    "细粒度分类", "迁移学习", "知识蒸馏", "模型压缩", "量化", "剪枝", "轻量化网络", "MobileNet", "深度可分离卷积",
    "评价指标", "精确率召回率", "mAP", "类别不平衡", "Focal Loss", "生成模型", "GAN", "扩散模型", "VAE", "对抗样本",
    "自监督学习", "对比学习", "半监督学习", "图像处理", "边缘检测", "插值", "颜色空间", "模型部署", "ONNX",
    "TensorRT", "PyTorch", "全连接层",
]
TAGS = ["基础", "手算", "追问", "高频", "概念", "代码", "推导", "场景题", "项目深挖", "易错", "对比", "工程",
        "论文", "调参", "面试常考", "实现细节", "数值稳定", "训练技巧"]
TERMS = ["batch normalization", "running mean", "weight decay", "learning rate warmup", "residual connection",
         "self-attention", "multi-head attention", "feature map", "receptive field", "depthwise convolution",
         "pointwise convolution", "cross entropy", "label smoothing", "gradient clipping", "mixed precision",
         "data augmentation", "anchor box", "non-maximum suppression", "skip connection", "softmax",
         "global average pooling", "knowledge distillation", "contrastive loss", "momentum", "Adam", "SGD",
         "dropout", "early stopping", "fine-tuning", "backbone", "positional encoding", "layer norm"]
SOURCES = ["001_e7448f58e260fe0d", "002_9ce2d5801cab6030", "003_860948ad19d43784", "004_e827a49c498ab0b1",
           "TP-Link 图像算法一面", "TP-Link 算法二面", "通用知识"]
CN_SENTENCES = [
    "在{t}相关的面试里，面试官经常会追问 {e} 的具体实现细节，以及它在训练和推理阶段的区别。",
    "请结合你做过的项目，说明{t}在实际训练中起到什么作用，为什么 {e} 会影响模型的收敛速度。",
    "假设你在训练一个 ResNet-50 做图像分类，发现验证集精度停滞不前，你会如何从{t}的角度排查问题？",
    "关于{t}，下面的说法需要你仔细判断：有些看起来正确，但忽略了 {e} 在小 batch 下的行为。",
    "很多同学把{t}和 {e} 混为一谈，请说明二者的联系与区别，并给出一个典型的使用场景。",
    "在部署到移动端时，{t}往往会带来额外的开销，你会怎样在精度和速度之间做权衡？",
    "如果把 {e} 去掉，网络的表现会发生什么变化？请从{t}的角度给出你的解释。",
    "实际工程中，{t}的超参数通常怎么选？请说明你调参时关注的指标和经验。",
    "给定输入尺寸为 224×224 的三通道图像，讨论{t}对特征图尺寸和计算量的影响。",
    "从梯度传播的角度分析{t}，说明 {e} 为什么能够缓解深层网络训练困难的问题。",
]
EN_SENTENCES = [
    "Explain how {e} interacts with {e2} during training, and what changes at inference time.",
    "Why does {e} help when the dataset is small and the model is large?",
    "Describe a failure case of {e} that you have seen in practice and how you fixed it.",
    "Compare {e} with {e2} in terms of memory, speed and accuracy.",
]
MATH = [
    r"$y = \gamma \hat{{x}} + \beta$", r"$\hat{{x}} = \frac{{x - \mu}}{{\sqrt{{\sigma^2 + \epsilon}}}}$",
    r"$H_{{out}} = \lfloor (H_{{in}} + 2p - k)/s \rfloor + 1$", r"$L = -\sum_i y_i \log p_i$",
    r"$\mathrm{{softmax}}(z)_i = e^{{z_i}} / \sum_j e^{{z_j}}$", r"$\theta \leftarrow \theta - \eta \nabla L$",
    r"$\mathrm{{IoU}} = |A \cap B| / |A \cup B|$", r"$FL(p_t) = -\alpha (1 - p_t)^\gamma \log p_t$",
]
CODE = [
    "```python\nx = torch.randn(8, {c}, 32, 32)\nconv = nn.Conv2d({c}, {c2}, kernel_size=3, padding=1)\ny = conv(x)\nprint(y.shape)\n```",
    "```python\nbn = nn.BatchNorm2d({c})\nbn.eval()\nwith torch.no_grad():\n    out = bn(torch.randn(4, {c}, 16, 16))\n```",
    "```python\nopt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)\nsched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)\n```",
    "```python\nloss = F.cross_entropy(logits, target, label_smoothing=0.1)\nloss.backward()\n```",
]
OPTION_TEXTS = [
    "只在训练时使用当前 mini-batch 的统计量", "推理时使用训练阶段累计的滑动平均", "可以完全替代数据增强",
    "会让模型参数量增加一倍", "主要作用是缓解梯度消失并加快收敛", "和学习率的选择没有任何关系",
    "对小 batch 训练不敏感", "在 Transformer 中通常用 LayerNorm 代替", "会引入额外的可学习参数 γ 和 β",
    "等价于对输入做 L2 归一化", "可以通过 {e} 实现", "在推理时可以与前面的卷积层融合",
    "一定会提升测试集精度", "会改变特征图的空间尺寸", "与 {e} 的作用完全相同", "属于一种正则化手段",
    "计算量与输入分辨率的平方成正比", "参数量与输入分辨率无关",
]
KEYPOINT_POOL = [
    ("按通道统计", "通道|channel|每个通道"), ("减均值除标准差", "均值|mean|方差|标准差|归一化"),
    ("可学习的缩放平移", "gamma|beta|γ|β|缩放|平移|仿射"), ("训练推理差异", "推理|训练|滑动平均|running"),
    ("缓解梯度问题", "梯度消失|梯度爆炸|梯度|收敛"), ("正则化效果", "正则|过拟合|泛化|噪声"),
    ("计算开销", "计算量|flops|延迟|速度|开销"), ("参数量分析", "参数量|参数|权重|params"),
    ("数据层面", "数据增强|增广|清洗|标注|数据"), ("模型结构", "残差|结构|backbone|骨干|网络"),
    ("评价指标", "准确率|精度|map|召回|precision|recall"), ("部署落地", "部署|onnx|tensorrt|量化|端侧"),
    ("注意力机制", "注意力|attention|query|key|value"), ("损失函数设计", "损失|loss|交叉熵|focal"),
]
ANSWER_SENTENCES = [
    "对每个通道在 N、H、W 上求均值和方差，标准化之后再做可学习的缩放和平移。",
    "训练时使用当前 batch 的统计量，推理时使用训练阶段累计的滑动平均，因此两种模式的行为不同。",
    "它能让每一层输入的分布更稳定，从而允许更大的学习率，缓解梯度消失，加快收敛。",
    "batch 很小时统计量噪声很大，这时可以考虑 GroupNorm 或 LayerNorm，或者冻结 BN 的统计量。",
    "从工程角度看，部署时可以把 BN 融合进前面的卷积层，几乎不增加推理开销。",
    "在我的项目里，加入数据增强和 label smoothing 之后，训练集和验证集之间的差距明显缩小。",
    "评价时要同时看准确率、召回率和 mAP，不能只看单一指标，否则容易误判模型的真实效果。",
    "注意力机制通过 query 与 key 的相似度给 value 加权，让模型关注与任务最相关的区域。",
]
BANK_THEMES = ["卷积与CNN", "归一化", "优化与训练", "损失函数", "检测", "分割", "Transformer", "生成模型",
               "模型压缩", "部署", "评价指标", "图像处理", "正则化", "自监督", "迁移学习", "激活函数",
               "注意力", "对抗鲁棒", "数据", "综合"]
TYPE_WEIGHTS = [("single", 35), ("multiple", 15), ("open", 25), ("numeric", 9), ("shape", 6), ("generated", 10)]


def _pick_topics(rng: random.Random, home: list[str]) -> list[str]:
    n = rng.choice([1, 1, 2, 2, 3])
    picked = [rng.choice(home)]
    while len(picked) < n:
        t = rng.choice(TOPICS)
        if t not in picked:
            picked.append(t)
    return picked


def _prompt(rng: random.Random, topics: list[str], lo: int = 100, hi: int = 300) -> str:
    target = rng.randint(lo, hi)
    parts: list[str] = []
    length = 0
    while length < target:
        if rng.random() < 0.25:
            s = rng.choice(EN_SENTENCES).format(e=rng.choice(TERMS), e2=rng.choice(TERMS))
        else:
            s = rng.choice(CN_SENTENCES).format(t=rng.choice(topics), e=rng.choice(TERMS))
        if rng.random() < 0.3:
            s += " 相关公式：" + rng.choice(MATH).format() + "。"
        parts.append(s)
        length += len(s)
    text = "".join(parts)
    if rng.random() < 0.15:
        c = rng.choice([16, 32, 64, 128])
        text += "\n\n" + rng.choice(CODE).format(c=c, c2=c * 2) + "\n\n上面代码的行为是什么？"
    return text


def _meta(qtype: str, rng: random.Random, topics: list[str], followups: list[str], extra: list[str]) -> str:
    lines = [f"type: {qtype}", f"difficulty: {rng.randint(1, 5)}", f"topics: [{', '.join(topics)}]"]
    if rng.random() < 0.7:
        lines.append(f"tags: [{', '.join(rng.sample(TAGS, rng.randint(1, 3)))}]")
    lines.append(f"source: {rng.choice(SOURCES)}")
    if followups:
        lines.append(f"followups: [{', '.join(followups)}]")
    lines.extend(extra)
    return "```yaml\n" + "\n".join(lines) + "\n```"


def _explanation(rng: random.Random, topics: list[str]) -> str:
    return _prompt(rng, topics, 60, 180)


def _choice(rng: random.Random, multiple: bool) -> str:
    n = rng.choice([4, 4, 4, 5])
    texts = rng.sample(OPTION_TEXTS, n)
    if multiple:
        right = set(rng.sample(range(n), rng.randint(2, n - 1)))
    else:
        right = {rng.randrange(n)}
    lines = []
    for i, t in enumerate(texts):
        mark = "x" if i in right else " "
        lines.append(f"- [{mark}] {chr(65 + i)}. {t.format(e=rng.choice(TERMS))}")
    return "### 选项\n\n" + "\n".join(lines)


def _open(rng: random.Random) -> str:
    ref = "".join(rng.sample(ANSWER_SENTENCES, rng.randint(2, 5)))
    kps = rng.sample(KEYPOINT_POOL, rng.randint(3, 6))
    kp_lines = [f"- {label}: {syns}" + (" (权重 2)" if rng.random() < 0.15 else "") for label, syns in kps]
    return f"### 参考答案\n\n{ref}\n\n### 要点\n\n" + "\n".join(kp_lines)


def _numeric(rng: random.Random) -> tuple[list[str], str]:
    kind = rng.randrange(3)
    if kind == 0:
        i, o = rng.choice([128, 256, 512, 1024]), rng.choice([10, 100, 1000])
        return [f"answer: {i * o + o}", "tolerance: 0"], f"一个 `nn.Linear({i}, {o})`（带偏置）有多少个可学习参数？"
    if kind == 1:
        c = rng.choice([16, 32, 64, 128, 256])
        return [f"answer: {2 * c}", "tolerance: 0"], f"`nn.BatchNorm2d({c})` 有多少个可学习参数？"
    ci, co, k = rng.choice([3, 16, 32, 64]), rng.choice([32, 64, 128]), rng.choice([1, 3, 5])
    return ([f"answer: {ci * co * k * k + co}", "rel_tolerance: 0.01", "suffixes: true"],
            f"`nn.Conv2d({ci}, {co}, kernel_size={k})`（带偏置）的参数量是多少？可以写成 `1.2K` 这种形式。")


def _shape(rng: random.Random) -> tuple[list[str], str]:
    c, co, h = rng.choice([3, 16, 32]), rng.choice([32, 64, 128]), rng.choice([32, 56, 64, 112, 224])
    k, s, p = rng.choice([(3, 1, 1), (3, 2, 1), (5, 1, 2), (7, 2, 3)])
    out = (h + 2 * p - k) // s + 1
    return ([f"answer: [1, {co}, {out}, {out}]", "order: NCHW", "batch_optional: true"],
            f"输入形状 `(1, {c}, {h}, {h})`，经过 `nn.Conv2d({c}, {co}, kernel_size={k}, stride={s}, padding={p})` 后的输出形状是？")


GENERATED = [
    ("conv2d_output_shape",
     "params:\n  in_channels: [3, 16, 32]\n  height: {min: 16, max: 128}\n  kernel_size: [3, 5, 7]\n  stride: [1, 2]\n  padding: 1",
     "输入形状为 {{input_shape}}，经过 `nn.Conv2d({{in_channels}}, {{out_channels}}, kernel_size={{kernel_size}}, "
     "stride={{stride}}, padding={{padding}})`，输出形状是？请按 NCHW 写出。"),
    ("conv2d_params",
     "params:\n  in_channels: [3, 16, 32, 64]\n  out_channels: [32, 64, 128]\n  kernel_size: [1, 3, 5]",
     "一个 `nn.Conv2d({{in_channels}}, {{out_channels}}, kernel_size={{kernel_size}})`（{{bias_text}}）"
     "有多少个可学习参数？"),
    ("linear_params",
     "params:\n  in_features: [256, 512, 1024, 2048]\n  out_features: [10, 100, 1000]",
     "全连接层 `nn.Linear({{in_features}}, {{out_features}})`（{{bias_text}}）有多少个参数？"),
    ("batchnorm_params",
     "params:\n  num_features: [32, 64, 128, 256]\n  ask: learnable",
     "`nn.BatchNorm2d({{num_features}})` 的{{ask_text}}是多少？"),
]


def _question(rng: random.Random, qid: str, qtype: str, home: list[str], followups: list[str]) -> str:
    topics = _pick_topics(rng, home)
    title = f"{topics[0]} {rng.choice(['基础', '计算', '辨析', '追问', '场景', '实现'])}"
    extra: list[str] = []
    body: list[str] = []
    if qtype in ("single", "multiple"):
        prompt = _prompt(rng, topics)
        body.append(_choice(rng, qtype == "multiple"))
    elif qtype == "open":
        prompt = _prompt(rng, topics)
        body.append(_open(rng))
    elif qtype == "numeric":
        extra, prompt = _numeric(rng)
        prompt += "\n\n" + _prompt(rng, topics, 60, 200)
    elif qtype == "shape":
        extra, prompt = _shape(rng)
        prompt += "\n\n" + _prompt(rng, topics, 60, 200)
    else:
        calc, params, template = rng.choice(GENERATED)
        extra = [f"calculator: {calc}", params]
        prompt = template + "\n\n" + _prompt(rng, topics, 40, 150)
    explanation = _explanation(rng, topics)
    if qtype == "generated":
        explanation = "{{worked}}\n\n" + explanation
    parts = [f"## {qid} {title}", _meta(qtype, rng, topics, followups, extra), prompt, *body,
             "### 解析\n\n" + explanation]
    return "\n\n".join(parts) + "\n"


def generate(out_dir: Path, questions: int = 10_000, banks: int = 20, seed: int = 1) -> dict[str, int]:
    """Write OUT_DIR/banks/*.md and OUT_DIR/rounds/*.md; return counts per type."""
    rng = random.Random(seed)
    (out_dir / "banks").mkdir(parents=True, exist_ok=True)
    (out_dir / "rounds").mkdir(parents=True, exist_ok=True)
    types = [t for t, _ in TYPE_WEIGHTS]
    weights = [w for _, w in TYPE_WEIGHTS]
    counts: dict[str, int] = dict.fromkeys(types, 0)
    per_bank = [questions // banks + (1 if b < questions % banks else 0) for b in range(banks)]
    all_ids: list[str] = []
    for b in range(banks):
        bank_id = f"syn-{b:02d}"
        theme = BANK_THEMES[b % len(BANK_THEMES)]
        home = rng.sample(TOPICS, 6)
        ids = [f"syn{b:02d}-q{i:04d}" for i in range(per_bank[b])]
        all_ids.extend(ids)
        chunks = [f"---\nid: {bank_id}\ntitle: 合成题库 {b:02d} {theme}\n"
                  f"description: 基准测试用的合成题库（{theme}），题型比例接近真实题库。\n---\n\n# {theme}\n"]
        for i, qid in enumerate(ids):
            qtype = rng.choices(types, weights)[0]
            counts[qtype] += 1
            followups = [ids[i + 1]] if i + 1 < len(ids) and rng.random() < 0.1 else []
            chunks.append(_question(rng, qid, qtype, home, followups))
        (out_dir / "banks" / f"{bank_id}.md").write_text("\n".join(chunks), encoding="utf-8")
    first = all_ids[:3]
    rounds = {
        "syn-round-1": ("合成一面", 45, [
            ("自我介绍与基础", 10, f"questions: [{', '.join(first)}]"),
            ("基础知识", 20, "pick:\n  - topic: BN\n    count: 2\n  - topic: 卷积计算\n    difficulty: [1, 3]\n    count: 2"),
            ("手算", 10, "pick:\n  - type: generated\n    count: 2"),
        ]),
        "syn-round-2": ("合成二面", 60, [
            ("项目深挖", 25, "pick:\n  - type: open\n    count: 3"),
            ("专题", 25, "pick:\n  - topic: 目标检测\n    count: 2\n  - bank: syn-00\n    type: single\n    count: 3"),
        ]),
    }
    for rid, (title, duration, sections) in rounds.items():
        text = f"---\nid: {rid}\ntitle: {title}\nduration: {duration}\ndescription: 基准测试用的合成轮次。\n---\n"
        for name, minutes, yaml_body in sections:
            text += f"\n## {name}\n\n```yaml\nminutes: {minutes}\n{yaml_body}\n```\n\n按顺序作答，注意时间。\n"
        (out_dir / "rounds" / f"{rid}.md").write_text(text, encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="directory to write banks/ and rounds/ into")
    parser.add_argument("--questions", type=int, default=10_000, help="total questions (default 10000)")
    parser.add_argument("--banks", type=int, default=20, help="number of bank files (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.banks < 1 or args.questions < args.banks:
        parser.error("need at least one bank and at least one question per bank")
    counts = generate(args.out_dir, args.questions, args.banks, args.seed)
    total = sum(counts.values())
    mix = ", ".join(f"{t} {n} ({n / total:.0%})" for t, n in counts.items())
    print(f"wrote {total} questions in {args.banks} banks to {args.out_dir}: {mix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
