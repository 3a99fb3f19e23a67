"""A bank of four open items (one with a misconception) and a round of them, for the model grader's tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import VALID

ITEMS = {
    "m-sigmoid": ("为什么 sigmoid 输出不是零中心会影响收敛？", "输出全为正，同一神经元的权重梯度同号，更新只能走之字形。", """\
- 输入全为正: 全为正|恒为正|都大于0
  > 上一层 sigmoid 的输出全部大于 0
- 梯度同号: 同号|符号相同
  > 同一神经元所有权重的梯度同号
- 之字形更新: 之字形|zigzag
  > 更新只能走之字形路线，收敛变慢

### 常见误区

- 导致梯度消失: 非零中心|不是零中心|全为正 & 梯度消失
  > 非零中心会导致梯度消失
"""),
    "m-dropout": ("Dropout 在训练和推理时有什么不同？", "训练时随机把神经元置零，并对保留的输出做缩放；推理时全部保留。", """\
- 训练随机置零: 随机置零|随机丢弃
  > 训练时以概率 p 随机把神经元的输出置零
- 推理全部保留: 全部保留|不丢弃
  > 推理时不丢弃任何神经元
- 缩放保持期望: 缩放|期望不变
  > 保留的输出乘 1/(1-p)，让期望不变
"""),
    "m-resnet": ("ResNet 的残差连接为什么有用？", "残差块至少能学成恒等映射，梯度可以经捷径直接传到浅层，网络能堆得更深。", """\
- 恒等映射: 恒等映射|identity
  > 残差块至少能学成恒等映射
- 梯度直传: 梯度直接|捷径
  > 梯度可以通过捷径直接传到浅层
- 更深的网络: 更深|加深
  > 网络可以堆得更深而不退化
"""),
    "m-l2": ("L2 正则化为什么能缓解过拟合？", "损失里加权重的平方和，惩罚大权重；权重小的模型更平滑，方差更低。", """\
- 惩罚大权重: 大权重|平方和|权重衰减
  > 在损失里加权重的平方和，惩罚大的权重
- 模型更平滑: 平滑|更简单
  > 权重小的模型更平滑、更简单
- 降低方差: 方差|泛化
  > 降低模型的方差，泛化更好
"""),
}


def graded_content(root: Path) -> Path:
    """The fixture content plus the bank `graded` and the round `opens` (its four open items, in order)."""
    shutil.copytree(VALID, root)
    parts = ["---\nid: graded\ntitle: 开放题\n---\n"]
    for qid, (prompt, reference, points) in ITEMS.items():
        parts.append(f"## {qid} 问答\n\n```yaml\ntype: open\ndifficulty: 3\ntopics: [测试]\nsource: test\n```\n\n"
                     f"{prompt}\n\n### 参考答案\n\n{reference}\n\n### 要点\n\n{points}\n### 解析\n\n见参考答案。\n")
    (root / "banks" / "graded.md").write_text("\n".join(parts), encoding="utf-8")
    (root / "rounds" / "opens.md").write_text(
        "---\nid: opens\ntitle: 开放题轮\nduration: 10\ndescription: 测试用。\n---\n\n## 问答\n\n```yaml\n"
        f"minutes: 10\nquestions: [{', '.join(ITEMS)}]\n```\n\n逐题作答。\n", encoding="utf-8")
    return root
