"""The words of open answers: tokenisation, how a pattern matches (exactly or fuzzily), and speed."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.content.model import KeyPoint
from app.scoring import keypoints
from app.scoring.keypoints import TERMS_FILE, get_tokenizer, normalize, tokenize
from app.scoring.open_grader import grade_answer

BN_POINTS = (
    KeyPoint("按通道统计", ("通道", "channel", "每个通道")),
    KeyPoint("减均值除标准差", ("均值", "mean", "方差", "标准差"), 2.0),
    KeyPoint("可学习的缩放平移", ("gamma", "beta", "γ", "β", "缩放", "平移", "仿射")),
    KeyPoint("推理用滑动平均", ("滑动平均", "running mean", "moving average", "指数移动平均")),
)


def score_keypoints(answer: str, points):
    return grade_answer("", points, (), answer)


def _terms() -> list[str]:
    return [line.split()[0] for line in TERMS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def _hit(answer: str, *synonyms: str) -> tuple[bool, str | None, str | None]:
    p = score_keypoints(answer, [KeyPoint("k", synonyms)]).points[0]
    return p.verdict in ("covered", "named"), p.matched, p.how


# --- terms and tokens --------------------------------------------------------------------------


def test_terms_file_is_a_valid_jieba_userdict() -> None:
    terms = _terms()
    assert len(terms) >= 140
    assert len(set(terms)) == len(terms)
    for line in TERMS_FILE.read_text(encoding="utf-8").splitlines():
        word, freq = line.split()
        assert freq.isdigit() and word == normalize(word)


@pytest.mark.parametrize("term", _terms())
def test_each_term_stays_whole(term: str) -> None:
    assert term in tokenize(normalize(f"我认为{term}很重要"))


@pytest.mark.parametrize(
    "term",
    [
        "批归一化",
        "层归一化",
        "感受野",
        "梯度消失",
        "残差连接",
        "深度可分离卷积",
        "非极大值抑制",
        "知识蒸馏",
        "一致性正则",
    ],
)
def test_required_terms_are_in_the_dictionary(term: str) -> None:
    assert term in _terms()
    assert get_tokenizer().cut(term, False) == [term]


def test_tokenize_drops_punctuation_and_splits_latin_words() -> None:
    tokens = tokenize(normalize("ＢＮ（batch-norm）用了 3x3 卷积核，γ 和 β。"))
    assert "bn" in tokens and "batch" in tokens and "norm" in tokens
    assert "卷积核" in tokens and "γ" in tokens
    assert all(t.strip() and any(c.isalnum() for c in t) for t in tokens)


# Text like answers: CJK, full-width forms, Latin and Greek, digits, punctuation, combining marks, NUL.
_ANSWER_TEXT = st.lists(st.sampled_from(
    list("批归一化卷积感受野均值方差的是和，。：；！？（）、“”　ＢＮａ１２ｘγβé") + ["\u0301", "\u0308", "\x00", "\n",
                                                        "x光", "b超", "3x3", "l2", "-", "_", " ", "ﬁ", "①", "㎏", "Å"]
) | st.characters(exclude_categories=["Cs"]), max_size=40).map("".join)  # lone surrogates: check_text


@settings(max_examples=500, deadline=None)
@given(text=_ANSWER_TEXT)
def test_normalize_is_nfkc_and_lower_case(text: str) -> None:
    import unicodedata

    expected = unicodedata.normalize("NFKC", text)
    for dash in ("\u2212", "\u2013", "\u2014"):
        expected = expected.replace(dash, "-")
    assert normalize(text) == expected.lower()


def _tokenize_reference(text: str) -> list[str]:
    """The plain definition: every token with a letter or digit, each script-mixing token followed by its
    Latin words."""
    out = []
    for t in get_tokenizer().cut(text, False):
        if any(c.isalnum() for c in t):
            out.append(t)
            if keypoints._MIXED_RE.search(t):
                out.extend(keypoints.WORD_RE.findall(t))
    return out


@pytest.fixture
def mixed_words():
    """The shared tokenizer with two dictionary words that glue Latin to CJK; rebuilt afterwards."""
    keypoints._tokenizer = None
    for word in ("x光", "b超"):
        get_tokenizer().add_word(word, 10**6, None)
    yield
    keypoints._tokenizer = None


@settings(max_examples=500, deadline=None)
@given(text=_ANSWER_TEXT)
def test_tokenize_matches_its_plain_definition(text: str) -> None:
    norm = normalize(text)
    assert tokenize(norm) == _tokenize_reference(norm)


def test_tokenize_splits_latin_out_of_mixed_dictionary_words(mixed_words) -> None:
    tokens = tokenize(normalize("拍了ｘ光和b超，l2 正则"))
    assert tokens == ["拍", "了", "x光", "x", "和", "b超", "b", "l2", "正则"]
    for text in ["x光", "3x3卷积x光", "b超-x光", "做x光检查 and b超", "x光片", "光x"]:
        assert tokenize(text) == _tokenize_reference(text), text


def test_tokenizer_is_built_once_across_threads() -> None:
    keypoints._tokenizer = None
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(get_tokenizer())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(s is seen[0] for s in seen)


def test_rjieba_cuts_exactly_as_the_jieba_reference(bundled_content) -> None:
    """jieba-rs replaces the pure-Python jieba for speed; with the same user dictionary both must cut the
    bundled content's prompts, explanations and reference answers identically."""
    import jieba

    reference = jieba.Tokenizer()
    reference.initialize()
    reference.load_userdict(str(TERMS_FILE))
    texts = [normalize(t) for q in bundled_content.questions for t in (q.prompt, q.explanation, q.reference or "")]
    assert len(texts) > 1000
    differing = [t for t in texts if reference.lcut(t, HMM=False) != get_tokenizer().cut(t, False)]
    assert differing == []


# --- how a synonym hits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "synonyms", "how", "matched"),
    [
        # exact: a whole token
        ("BN 对每个通道分别计算", ("通道",), "exact", "通道"),
        ("use the running Mean", ("mean",), "exact", "mean"),
        ("ＭＥＡＮ and var", ("mean",), "exact", "mean"),
        ("用 γ 和 β 做仿射", ("γ",), "exact", "γ"),
        ("感受野变大了", ("感受野",), "exact", "感受野"),
        # substring: multi-character Chinese inside a longer word, English as whole words
        ("通道数翻倍", ("通道",), "exact", "通道"),
        ("用了批归一化", ("归一化",), "exact", "归一化"),
        ("uses a moving average", ("moving average",), "exact", "moving average"),
        ("uses a moving-average", ("moving average",), "exact", "moving-average"),
        ("BatchNorm layers", ("batch norm",), "exact", "batchnorm"),
        ("batch_norm layers", ("batch norm",), "exact", "batch_norm"),
        ("加了l2正则项", ("l2正则",), "exact", "l2正则"),
        # fuzzy: typos and small variations of longer synonyms
        ("加了 dropuot 层", ("dropout",), "fuzzy", "dropuot"),
        ("用 batchnrom 归一化", ("batchnorm",), "fuzzy", "batchnrom"),
        ("used a residaul connection", ("residual connection",), "fuzzy", "residaul connection"),
        ("可以用深度可分卷积", ("深度可分离卷积",), "fuzzy", "深度可分卷积"),
        ("主要是为了缓解梯度消逝问题", ("缓解梯度消失问题",), "fuzzy", "缓解梯度消逝问题"),
    ],
)
def test_synonym_hits(answer: str, synonyms: tuple[str, ...], how: str, matched: str) -> None:
    assert _hit(answer, *synonyms) == (True, matched, how)


@pytest.mark.parametrize(
    ("answer", "synonyms"),
    [
        # a lone Chinese character only counts as a whole token, never inside another word
        ("池化层会降低分辨率", ("池",)),
        ("均值和方差", ("均",)),
        # English synonyms are whole words
        ("we use a meaningful prior", ("mean",)),
        ("normalization", ("norm",)),
        ("abnormal", ("bn",)),
        # too short for fuzzy matching
        ("form", ("norm",)),
        ("gelu", ("relu",)),
        # fuzzy threshold keeps different words apart
        ("梯度爆炸", ("梯度消失",)),
        ("主要是为了缓解梯度消逝", ("缓解梯度消失",)),  # one wrong character in six is too far
        ("dropconnect", ("dropout",)),
        ("", ("通道",)),
        ("任何回答 - any answer", ("-", " ", "")),  # blank synonyms never hit
        ("   ", ("mean",)),
    ],
)
def test_synonym_misses(answer: str, synonyms: tuple[str, ...]) -> None:
    assert _hit(answer, *synonyms) == (False, None, None)


def test_single_char_synonym_hits_as_its_own_token() -> None:
    assert _hit("先池，再卷积", "池")[0]


def test_full_width_synonyms_are_normalised_too() -> None:
    assert _hit("uses batch norm", "ＢＡＴＣＨ　ＮＯＲＭ") == (True, "batch norm", "exact")


# --- scores ------------------------------------------------------------------------------------


def test_chinese_answer_covers_every_point() -> None:
    answer = "BN 对每个通道计算 mini-batch 的均值和方差做标准化，再用可学习的缩放和平移；推理时使用滑动平均。"
    result = score_keypoints(answer, BN_POINTS)
    assert result.score == 1.0
    assert [p.verdict for p in result.points] == ["covered"] * 4


def test_english_answer_with_typos() -> None:
    answer = (
        "Per-channel statistics: subtract the mean, then scale by gamma and shift by beta. "
        "Inference uses a movng average."
    )
    result = score_keypoints(answer, BN_POINTS)
    assert result.score == 1.0
    assert result.points[3].how == "fuzzy"


def test_weighted_share_of_points() -> None:
    # 按通道统计 (1) + 减均值除标准差 (2) out of 1 + 2 + 1 + 1
    result = score_keypoints("对每个通道求均值", BN_POINTS)
    assert result.coverage == pytest.approx(3 / 5)
    assert [p.label for p in result.points if p.verdict == "missing"] == ["可学习的缩放平移", "推理用滑动平均"]
    assert result.points[0].as_dict() == {"label": "按通道统计", "statement": "", "weight": 1.0, "verdict": "covered",
                                          "hit": True, "evidence": "对每个通道求均值", "matched": "通道", "how": "exact"}


def test_no_points_hit_and_no_points_at_all() -> None:
    assert score_keypoints("完全无关的回答", BN_POINTS).score == 0.0
    assert score_keypoints("随便写点", ()).score == 0.0
    assert score_keypoints("通道", [KeyPoint("零权重", ("通道",), 0.0)]).score == 0.0


def test_median_time_per_300_char_answer_is_small() -> None:
    text = (
        "批归一化在训练时对每个通道计算当前小批量的均值和方差，然后做标准化，再通过可学习的缩放和平移参数恢复表达能力。"
        "推理阶段使用训练时累计的滑动平均统计量，因此与批大小无关。它能缓解内部协变量偏移，使得可以使用更大的学习率，"
        "并有一定正则化效果，不过在小批量时统计量噪声大，可以改用层归一化或组归一化。"
    ) * 3
    answers = [text[i : i + 300] for i in range(40)]
    for a in answers[:5]:
        score_keypoints(a, BN_POINTS)
    times = []
    for a in answers:
        start = time.perf_counter()
        score_keypoints(a, BN_POINTS)
        times.append(time.perf_counter() - start)
    # ~0.7 ms on a developer machine; the bound leaves room for slow CI hosts.
    assert statistics.median(times) < 0.01


# --- the fuzzy prefilter is exact ----------------------------------------------------------------


_PIECES = ["批归一化", "归一化", "感受野", "卷积", "通道", "的", "是", "均值", "方差", "标准", "差", "滑动", "平均",
           "batch", "norm", "normalization", "mean", "drop", "out", "dropout", " ", "，", "话", "野", "也", "受",
           "aa", "a"]


@settings(max_examples=400, deadline=None)
@given(answer=st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
       synonym=st.sampled_from(["批归一化层", "感受野大小", "滑动平均值", "batch norm", "normalization", "dropout",
                                "均值方差标准化", "通道数目", "标准差", "aaaaaab", "aaaaaaaaaa"]))
def test_fuzzy_prefilter_never_skips_text_that_matches(answer: str, synonym: str) -> None:
    """The set test in front of rapidfuzz only saves time: whatever fuzzy_span finds, it lets through."""
    from app.scoring.open_grader import could_match_fuzzy, fuzzy_span

    syn = keypoints.compile_synonym(synonym)
    text = normalize(answer)
    if fuzzy_span(syn, text) is not None:
        assert could_match_fuzzy(syn, text)
