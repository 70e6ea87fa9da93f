"""Chapter 5 (inside the model): every exercise rejects its typical wrong answers; quiz keys hold;
the learner's forward pass (the solution) reproduces course_lib's model on the shipped weights.

Each wrong answer is graded as a real submission (see chapter_harness); the test cell of its
exercise must score 0 and every other one full marks. The checks of Exercises 5.3 and 5.4 run
the learner's function with course_lib's versions of the earlier exercises' functions, so the
wrong answers of one exercise do not reach the checks of another.
"""

from __future__ import annotations

import chapter_harness as harness
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wrong_messages import ChapterRun, check_hidden_cases_reject, check_named_message

CHAPTER = "ch5_inside_the_transformer"  # read by the fixtures in conftest.py


def changed(reference: str, old: str, new: str) -> str:
    """A reference answer (below) with one learner's change: `old` replaced by `new`."""
    assert old in reference, old
    return reference.replace(old, new)


# Reference answers, as a learner might write them; each wrong answer below changes one of them.
BLOCK = '''
def layer_norm(x, g, b, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps) * g + b


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def transformer_block(x, p, n_head):
    C = x.shape[-1]
    h = layer_norm(x, p["ln1.g"], p["ln1.b"])
    qkv = h @ p["attn.w_qkv"] + p["attn.b_qkv"]
    q, k, v = (split_heads(qkv[..., i * C:(i + 1) * C], n_head) for i in range(3))
    x = x + merge_heads(attention(q, k, v)) @ p["attn.w_proj"] + p["attn.b_proj"]
    h = layer_norm(x, p["ln2.g"], p["ln2.b"])
    return x + gelu(h @ p["mlp.w_fc"] + p["mlp.b_fc"]) @ p["mlp.w_proj"] + p["mlp.b_proj"]
'''

FORWARD = '''
def forward_pass(ids, weights, n_head):
    ids = np.asarray(ids)
    x = weights["wte"][ids] + weights["wpe"][:ids.shape[1]]
    n_layer = len({name.split(".")[1] for name in weights if name.startswith("h.")})
    for i in range(n_layer):
        p = {name[len(f"h.{i}."):]: w for name, w in weights.items() if name.startswith(f"h.{i}.")}
        x = transformer_block(x, p, n_head)
    return layer_norm(x, weights["ln_f.g"], weights["ln_f.b"]) @ weights["wte"].T
'''

ATTENTION = '''
def attention(q, k, v):
    Tq, Tk, d = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(d)
    allowed = np.arange(Tk) <= np.arange(Tq)[:, None] + (Tk - Tq)
    scores = np.where(allowed, scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v
'''

HEADS = '''
def split_heads(x, n_head):
    B, T, C = x.shape
    return x.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)


def merge_heads(y):
    B, H, T, d = y.shape
    return y.transpose(0, 2, 1, 3).reshape(B, T, H * d)
'''

# Typical wrong answers, written as learners write them: {solution grade_id: {name: code}}.
WRONG = {
    "ex5_1_attention": {
        "no causal mask": changed(
            ATTENTION, "    scores = np.where(allowed, scores, -np.inf)\n", ""),
        "mask the wrong way round": changed(ATTENTION,
            "np.arange(Tk) <= np.arange(Tq)[:, None] + (Tk - Tq)",
            "np.arange(Tk) >= np.arange(Tq)[:, None] + (Tk - Tq)"),
        "mask applied after the softmax": changed(ATTENTION,
            "    scores = np.where(allowed, scores, -np.inf)\n"
            "    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
            "    weights = weights / weights.sum(axis=-1, keepdims=True)\n",
            "    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
            "    weights = weights / weights.sum(axis=-1, keepdims=True)\n"
            "    weights = weights * allowed\n"),
        "no 1/sqrt(d)": changed(ATTENTION, " / np.sqrt(d)", ""),
        "softmax over the queries": changed(ATTENTION,
            "    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
            "    weights = weights / weights.sum(axis=-1, keepdims=True)\n",
            "    weights = np.exp(scores - scores.max(axis=-2, keepdims=True))\n"
            "    weights = weights / weights.sum(axis=-2, keepdims=True)\n"),
        "mask lined up with the first keys": changed(ATTENTION,
            "np.arange(Tk) <= np.arange(Tq)[:, None] + (Tk - Tq)",
            "np.tril(np.ones((Tq, Tk))) == 1"),
        "k.T on a batch of heads": changed(ATTENTION, "k.swapaxes(-1, -2)", "k.T"),
        "returns the weights": changed(ATTENTION, "    return weights @ v", "    return weights"),
    },
    "ex5_2_heads": {
        "split by reshape alone": changed(HEADS,
            "x.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)",
            "x.reshape(B, n_head, T, C // n_head)"),
        "heads take interleaved columns": changed(HEADS,
            "x.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)",
            "x.reshape(B, T, C // n_head, n_head).transpose(0, 3, 1, 2)"),
        "split leaves the head axis after the tokens": changed(HEADS,
            "x.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)",
            "x.reshape(B, T, n_head, C // n_head)"),
        "merge by reshape alone": changed(HEADS,
            "y.transpose(0, 2, 1, 3).reshape(B, T, H * d)", "y.reshape(B, T, H * d)"),
        "merge interleaves the heads": changed(HEADS,
            "y.transpose(0, 2, 1, 3).reshape(B, T, H * d)",
            "y.transpose(0, 2, 3, 1).reshape(B, T, H * d)"),
        "merge keeps the heads apart": changed(HEADS,
            "y.transpose(0, 2, 1, 3).reshape(B, T, H * d)", "y.transpose(0, 2, 1, 3)"),
        "only one sequence (B = 1)": changed(HEADS,
            "    B, T, C = x.shape\n"
            "    return x.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)",
            "    T, C = x.shape[-2:]\n"
            "    return x.reshape(T, n_head, C // n_head).transpose(1, 0, 2)[None]"),
    },
    "ex5_3_block": {
        "no residual around attention": changed(BLOCK,
            "    x = x + merge_heads(", "    x = merge_heads("),
        "no residual around the MLP": changed(BLOCK,
            "    return x + gelu(", "    return gelu("),
        "layer norm after the sub-layer (post-norm)": changed(BLOCK,
            '''    h = layer_norm(x, p["ln1.g"], p["ln1.b"])
    qkv = h @ p["attn.w_qkv"] + p["attn.b_qkv"]
    q, k, v = (split_heads(qkv[..., i * C:(i + 1) * C], n_head) for i in range(3))
    x = x + merge_heads(attention(q, k, v)) @ p["attn.w_proj"] + p["attn.b_proj"]
    h = layer_norm(x, p["ln2.g"], p["ln2.b"])
    return x + gelu(h @ p["mlp.w_fc"] + p["mlp.b_fc"]) @ p["mlp.w_proj"] + p["mlp.b_proj"]''',
            '''    qkv = x @ p["attn.w_qkv"] + p["attn.b_qkv"]
    q, k, v = (split_heads(qkv[..., i * C:(i + 1) * C], n_head) for i in range(3))
    x = layer_norm(x + merge_heads(attention(q, k, v)) @ p["attn.w_proj"] + p["attn.b_proj"],
                   p["ln1.g"], p["ln1.b"])
    mlp = gelu(x @ p["mlp.w_fc"] + p["mlp.b_fc"]) @ p["mlp.w_proj"] + p["mlp.b_proj"]
    return layer_norm(x + mlp, p["ln2.g"], p["ln2.b"])'''),
        "the residual adds the normalised input": changed(BLOCK,
            '''    x = x + merge_heads(attention(q, k, v)) @ p["attn.w_proj"] + p["attn.b_proj"]
    h = layer_norm(x, p["ln2.g"], p["ln2.b"])
    return x + gelu(''',
            '''    x = h + merge_heads(attention(q, k, v)) @ p["attn.w_proj"] + p["attn.b_proj"]
    h = layer_norm(x, p["ln2.g"], p["ln2.b"])
    return h + gelu('''),
        "layer norm over the tokens": changed(BLOCK,
            "    mean = x.mean(axis=-1, keepdims=True)\n"
            "    return (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps) * g + b",
            "    mean = x.mean(axis=-2, keepdims=True)\n"
            "    return (x - mean) / np.sqrt(x.var(axis=-2, keepdims=True) + eps) * g + b"),
        "layer norm with the unbiased variance": changed(BLOCK,
            "x.var(axis=-1, keepdims=True)", "x.var(axis=-1, ddof=1, keepdims=True)"),
        "ReLU instead of GELU": changed(BLOCK,
            "    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))",
            "    return np.maximum(x, 0)"),
        "no output projection after attention": changed(BLOCK,
            ' @ p["attn.w_proj"] + p["attn.b_proj"]', ""),
    },
    "ex5_4_forward": {
        "no position embeddings": changed(FORWARD, ' + weights["wpe"][:ids.shape[1]]', ""),
        "positions looked up by token id": changed(FORWARD,
            'weights["wpe"][:ids.shape[1]]', 'weights["wpe"][ids]'),
        "no final layer norm": changed(FORWARD,
            'layer_norm(x, weights["ln_f.g"], weights["ln_f.b"]) @', "x @"),
        "the last block skipped": changed(FORWARD,
            "for i in range(n_layer):", "for i in range(n_layer - 1):"),
        "blocks in reverse order": changed(FORWARD,
            "for i in range(n_layer):", "for i in reversed(range(n_layer)):"),
        "returns probabilities": changed(FORWARD,
            '    return layer_norm(x, weights["ln_f.g"], weights["ln_f.b"]) @ weights["wte"].T',
            '    logits = layer_norm(x, weights["ln_f.g"], weights["ln_f.b"]) @ weights["wte"].T\n'
            '    e = np.exp(logits - logits.max(axis=-1, keepdims=True))\n'
            '    return e / e.sum(axis=-1, keepdims=True)'),
        "output head not transposed": changed(FORWARD, 'weights["wte"].T', 'weights["wte"]'),
        "every block with block 0's weights": changed(FORWARD,
            'name.startswith(f"h.{i}.")}', 'name.startswith("h.0.")}').replace(
            'name[len(f"h.{i}."):]', 'name[len("h.0."):]'),
    },
}

# The phrase each wrong answer's visible check must name (every entry of WRONG).
MESSAGES = {
    ("ex5_1_attention", "no causal mask"): "no causal mask",
    ("ex5_1_attention", "mask the wrong way round"): "the mask is the wrong way round",
    ("ex5_1_attention", "mask applied after the softmax"): "the mask was applied after the softmax",
    ("ex5_1_attention", "no 1/sqrt(d)"): "no 1/sqrt(d)",
    ("ex5_1_attention", "softmax over the queries"): "softmax over the wrong axis",
    ("ex5_1_attention", "mask lined up with the first keys"):
        "the queries are the LAST Tq positions",
    ("ex5_1_attention", "k.T on a batch of heads"): "k.T reverses ALL axes",
    ("ex5_1_attention", "returns the weights"): "you returned the attention weights",
    ("ex5_2_heads", "split by reshape alone"):
        "a reshape alone to (B, H, T, d) mixes tokens and heads",
    ("ex5_2_heads", "heads take interleaved columns"): "CONTIGUOUS",
    ("ex5_2_heads", "split leaves the head axis after the tokens"): "move the head axis BEFORE",
    ("ex5_2_heads", "merge by reshape alone"):
        "merge_heads: a reshape alone mixes tokens and heads",
    ("ex5_2_heads", "merge interleaves the heads"): "merge_heads interleaves the heads",
    ("ex5_2_heads", "merge keeps the heads apart"): "flatten the last two axes",
    ("ex5_2_heads", "only one sequence (B = 1)"): "a batch of B = 2 sequences",
    ("ex5_3_block", "no residual around attention"): "no residual around attention",
    ("ex5_3_block", "no residual around the MLP"): "no residual around the MLP",
    ("ex5_3_block", "layer norm after the sub-layer (post-norm)"): "layer norm AFTER the sub-layer",
    ("ex5_3_block", "the residual adds the normalised input"):
        "the residual adds the NORMALISED input",
    ("ex5_3_block", "layer norm over the tokens"): "layer_norm normalises over the wrong axis",
    ("ex5_3_block", "layer norm with the unbiased variance"): "use the biased one",
    ("ex5_3_block", "ReLU instead of GELU"): "that is ReLU",
    ("ex5_3_block", "no output projection after attention"): "output projection is missing",
    ("ex5_4_forward", "no position embeddings"): "no position embeddings",
    ("ex5_4_forward", "positions looked up by token id"): "wpe[:T], not wpe[ids]",
    ("ex5_4_forward", "no final layer norm"): "no final layer norm",
    ("ex5_4_forward", "the last block skipped"): "block(s); the model has",
    ("ex5_4_forward", "blocks in reverse order"): "run them 0, 1, 2, 3",
    ("ex5_4_forward", "returns probabilities"): "you returned probabilities",
    ("ex5_4_forward", "output head not transposed"): "logits = h @ wte.T",
    ("ex5_4_forward", "every block with block 0's weights"): "every block got block 0's parameters",
}


class TestGrading(harness.ChapterGradingTests):
    """Reference answers get full marks; each typical wrong answer scores 0 (chapter_harness)."""

    chapter = CHAPTER
    wrong = WRONG
    written = {"analysis_5_6_no_mask": 4}
    written_answer = "Without the mask the target is visible: the loss drops, generation fails."
    n_questions = 5

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])


# Answers that hand each exercise to course_lib (plain functions, their fast twins, the model).
DELEGATING = {
    "ex5_1_attention": """
from course_lib.transformer import attention_forward

def attention(q, k, v):
    return attention_forward(q, k, v)[0]
""",
    "ex5_2_heads": """
from course_lib import transformer

def split_heads(x, n_head):
    return transformer.split_heads(x, n_head)

def merge_heads(y):
    return transformer.merge_heads(y)
""",
    "ex5_3_block": """
from course_lib import fast, transformer

def layer_norm(x, g, b, eps=1e-5):
    return transformer.layernorm_forward(x, g, b, eps)[0]

def gelu(x):
    return fast.gelu_forward(x)[0]

def transformer_block(x, p, n_head):
    return fast.block_forward(x, p, n_head)[0]
""",
    "ex5_4_forward": """
def forward_pass(ids, weights, n_head):
    return model.logits(ids)
""",
}


def test_delegating_to_course_lib_earns_nothing(tmp_path):
    """Each exercise answered by calling course_lib scores 0 (the grader takes those functions
    away); the quizzes beside them keep their points."""
    import nbformat
    from synthetic import student_notebook

    from autograder.grader.pipeline import grade_notebook

    path = harness.source_path(CHAPTER)
    source = nbformat.read(path, as_version=4)
    answers = harness.answer_keys(source) | DELEGATING
    submitted = tmp_path / "delegating.ipynb"
    nbformat.write(student_notebook(source, answers, written="An answer."), submitted)
    result = grade_notebook(submitted, path)
    for solution_id in DELEGATING:
        test_id = harness.grade_cell_of(solution_id)
        assert result.scores[test_id][0] == 0, (solution_id, result.messages.get(test_id))
        assert "which this exercise asks you to write" in result.messages[test_id]
    quizzes = [gid for gid in result.scores if gid.startswith("test_q")]
    assert quizzes and all(result.scores[gid][0] == result.scores[gid][1] for gid in quizzes)


@pytest.fixture(scope="module")
def chapter_run(source):
    """The chapter's cells, run in this process as the grader's kernel runs them."""
    return ChapterRun(source)


@pytest.mark.parametrize("case", harness.wrong_cases(WRONG), ids=str)
def test_hidden_cases_alone_reject_every_wrong_answer(chapter_run, answer_keys, case):
    """Beyond the visible checks, at least one hidden case of the exercise raises or differs
    from the reference answer's value (with the call's tolerance) for every wrong answer."""
    check_hidden_cases_reject(chapter_run, answer_keys[case[0]], WRONG, case)


def test_every_wrong_answer_has_its_message():
    assert set(MESSAGES) == set(harness.wrong_cases(WRONG))
    assert all(len(wrongs) >= 6 for wrongs in WRONG.values())


# ------------------------------------------------------------------ reference vs course_lib


@pytest.fixture(scope="module")
def reference(answer_keys) -> dict:
    """The instructor's exercise functions, defined in a fresh namespace."""
    namespace = {"np": np}
    for grade_id in WRONG:
        exec(answer_keys[grade_id], namespace)  # noqa: S102 - the instructor's solutions
    return namespace


@pytest.fixture(scope="module")
def shipped():
    from course_lib.pretrained import load_base_model

    return load_base_model()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 9), st.integers(0, 8),
       st.sampled_from([1, 2, 8]), st.integers(0, 2**32 - 1))
def test_reference_attention_equals_course_lib(reference, B, H, Tq, extra, d, seed):
    """Any batch, heads, Tq <= Tk and width: the learner's solution is course_lib's attention."""
    from course_lib.transformer import attention_forward

    rng = np.random.default_rng(seed)
    q = rng.normal(size=(B, H, Tq, d)) * 3
    k, v = rng.normal(size=(2, B, H, Tq + extra, d)) * 3
    assert np.allclose(reference["attention"](q, k, v), attention_forward(q, k, v)[0],
                       rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.sampled_from([1, 2, 4]), st.integers(1, 5),
       st.integers(0, 2**32 - 1))
def test_reference_heads_equal_course_lib(reference, B, T, H, d, seed):
    from course_lib.transformer import merge_heads, split_heads

    x = np.random.default_rng(seed).normal(size=(B, T, H * d))
    heads = reference["split_heads"](x, H)
    assert np.array_equal(heads, split_heads(x, H))
    assert np.array_equal(reference["merge_heads"](heads), merge_heads(split_heads(x, H)))
    assert np.array_equal(reference["merge_heads"](heads), x)


def test_reference_block_equals_course_lib(reference, shipped):
    from course_lib.transformer import block_forward, gelu_forward, layernorm_forward

    model, tokenizer = shipped
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 7, 128))
    p = {name: w.astype(np.float64) for name, w in model.block_params(1).items()}
    assert np.allclose(reference["transformer_block"](x, p, 4), block_forward(x, p, 4)[0],
                       rtol=1e-9, atol=1e-10)
    g, b = rng.normal(size=(2, 128))
    assert np.allclose(reference["layer_norm"](x, g, b), layernorm_forward(x, g, b)[0])
    assert np.allclose(reference["gelu"](x), gelu_forward(x)[0], rtol=1e-12, atol=1e-12)


PROMPTS = ["The capital of France is", "A dog has", "Two plus three is"]


def test_learners_forward_reproduces_the_shipped_model(reference, shipped):
    """The solution's forward_pass, all its pieces the learner's own: logits within the notebook's
    tolerance (1e-3; measured about 1e-5 in float32), and greedy completions equal course_lib's."""
    from course_lib.sampling import generate_text

    model, tokenizer = shipped
    forward_pass = reference["forward_pass"]
    ids = np.array([tokenizer.encode("The capital of France is Paris. A dog has four legs.")])
    gap = np.abs(forward_pass(ids, model.params, 4).astype(np.float64) - model.logits(ids)).max()
    assert gap < 1e-4, gap
    for prompt in PROMPTS:
        context = tokenizer.encode(prompt)
        for _ in range(6):
            logits = forward_pass(np.array([context]), model.params, 4)
            context.append(int(np.argmax(logits[0, -1])))
        completion = tokenizer.decode(context[len(tokenizer.encode(prompt)):])
        assert completion == generate_text(model, tokenizer, prompt, max_new_tokens=6,
                                           temperature=0)
    assert completion.startswith(" five.")


# ------------------------------------------------------------------ claims and quiz keys


def test_the_subject_head_is_in_the_first_layer_and_reads_the_country(shipped):
    """Section 5.2 and the recap: one layer-0 head puts most of the last position's weight on
    the country of "The capital of X is", far above an even spread."""
    from course_lib.facts import COUNTRIES

    model, tokenizer = shipped
    prefix = len(tokenizer.encode("The capital of"))
    on_subject = []
    for country, _, _ in COUNTRIES:
        ids = np.array(tokenizer.encode(f"The capital of {country} is"))
        on_subject.append(model.attention_weights(ids)[:, :, -1, prefix:-1].sum(axis=-1))
    on_subject = np.mean(on_subject, axis=0)
    layer, head = np.unravel_index(np.argmax(on_subject), on_subject.shape)
    assert layer == 0 and on_subject[layer, head] > 0.5
    assert np.sort(on_subject.ravel())[-2] < on_subject[layer, head] - 0.3  # it stands out


def test_q5_1_the_mask_makes_earlier_logits_independent_of_later_tokens(quiz, shipped):
    model, tokenizer = shipped
    ids = np.array(tokenizer.encode("The capital of Italy is Rome."))
    changed = ids.copy()
    changed[-1] = tokenizer.encode(" and")[0]
    assert np.array_equal(model.logits(ids)[:-1], model.logits(changed)[:-1])
    widget, key = quiz["q5_1"]
    assert key == "A" and "depends only on the tokens up to t" in widget.options[key]


def test_q5_2_the_spread_of_dot_products_grows_like_sqrt_d(quiz):
    rng = np.random.default_rng(0)
    for d in [4, 32, 128]:
        dots = np.einsum("nd,nd->n", *rng.normal(size=(2, 20000, d)))
        assert abs(dots.std() / np.sqrt(d) - 1) < 0.05
    widget, key = quiz["q5_2"]
    assert key == "A" and "variance d" in widget.options[key]


def test_q5_3_a_head_outputs_the_values_it_weighs(quiz, reference):
    """With almost all weight on one key, attention's output is that key's value."""
    q = np.zeros((1, 1, 3, 2))
    q[..., -1, :] = [20.0, 0.0]
    k = np.array([[[[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]]])
    v = np.array([[[[5.0, 5.0], [-1.0, 2.0], [3.0, 3.0]]]])
    assert np.allclose(reference["attention"](q, k, v)[0, 0, -1], v[0, 0, 1], atol=1e-4)
    assert quiz["q5_3"][1] == "A"


def test_q5_4_parameters_of_one_block(quiz, shipped):
    from course_lib.transformer import block_shapes

    model, _ = shipped
    C = model.config.n_embd
    per_block = sum(int(np.prod(shape)) for shape in block_shapes(C).values())
    assert per_block == 12 * C**2 + 13 * C == 198_272
    attention_only = sum(int(np.prod(shape)) for name, shape in block_shapes(C).items()
                         if name.startswith("attn."))
    widget, key = quiz["q5_4"]
    assert key == "A" and widget.options[key].startswith(f"{per_block:,d}")
    assert widget.options["B"].startswith(f"{12 * C**2:,d}")
    assert widget.options["C"].startswith(f"{attention_only:,d}")
    assert widget.options["D"].startswith(f"{model.num_params():,d}")


def test_q5_5_earlier_keys_do_not_change_when_tokens_are_appended(quiz, shipped):
    """What the cache stores does not change with appended tokens: cached decoding equals the
    full pass."""
    model, tokenizer = shipped
    ids = tokenizer.encode("The capital of France is Paris. The capital of Spain is")
    kv = model.new_kv_cache()
    model.forward_cached(np.array(ids[:5]), kv)
    cached = model.forward_cached(np.array(ids[5:]), kv)
    assert np.allclose(cached, model.logits(np.array(ids))[5:], atol=1e-4)
    assert quiz["q5_5"][1] == "A"
