"""Chapter 4 (MLE fine-tuning): every exercise rejects its typical wrong answers; quiz keys hold.

Each wrong answer is graded as a real submission (see chapter_harness); the test cell of its
exercise must score 0 and every other one full marks. Quiz keys are recomputed with course_lib
where the right answer can be computed.
"""

from __future__ import annotations

import math

import chapter_harness as harness
import numpy as np
import pytest
from wrong_messages import check_named_message

CHAPTER = "ch4_mle_finetuning"  # read by the fixtures in conftest.py

# Typical wrong answers, written as learners write them: {solution grade_id: {name: code}}.
WRONG = {
    "ex4_1_sft_example": {
        "no <|eos|> at the end": """
def make_sft_example(tokenizer, instruction, response):
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = tokenizer.encode(response)
    ids = np.array(prompt + answer)
    mask = np.array([0] * len(prompt) + [1] * len(answer))
    return ids[:-1], ids[1:], mask[1:]
""",
        "returns lists": """
def make_sft_example(tokenizer, instruction, response):
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    ids, mask = prompt + answer, [0] * len(prompt) + [1] * len(answer)
    return ids[:-1], ids[1:], mask[1:]
""",
        "mask not shifted with the targets (off by one)": """
def make_sft_example(tokenizer, instruction, response):
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    ids = np.array(prompt + answer)
    mask = np.array([0] * len(prompt) + [1] * len(answer))
    return ids[:-1], ids[1:], mask[:-1]
""",
        "eos not in the loss": """
def make_sft_example(tokenizer, instruction, response):
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = tokenizer.encode(response)
    ids = np.array(prompt + answer + [tokenizer.eos_id])
    mask = np.array([0] * len(prompt) + [1] * len(answer) + [0])
    return ids[:-1], ids[1:], mask[1:]
""",
        "mask on the prompt tokens": """
def make_sft_example(tokenizer, instruction, response):
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    ids = np.array(prompt + answer)
    mask = np.array([1] * len(prompt) + [0] * len(answer))
    return ids[:-1], ids[1:], mask[1:]
""",
        "no mask: every target scored": """
def make_sft_example(tokenizer, instruction, response):
    ids = np.array([tokenizer.instruction_id, *tokenizer.encode(instruction),
                    tokenizer.response_id, *tokenizer.encode(response), tokenizer.eos_id])
    return ids[:-1], ids[1:], np.ones(len(ids) - 1, dtype=int)
""",
        "targets not shifted": """
def make_sft_example(tokenizer, instruction, response):
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    ids = np.array(prompt + answer)
    mask = np.array([0] * len(prompt) + [1] * len(answer))
    return ids[:-1], ids[:-1], mask[1:]
""",
    },
    "ex4_2_masked_nll": {
        "global max subtracted, not each row's": """
def masked_nll(logits, targets, mask):
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max()
    probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(probs, np.asarray(targets)[..., None], axis=-1)[..., 0]
    mask = np.asarray(mask, dtype=np.float64)
    return float(-(np.log(picked) * mask).sum() / mask.sum())
""",
        "mean over all tokens instead of the masked ones": """
def masked_nll(logits, targets, mask):
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, np.asarray(targets)[..., None], axis=-1)[..., 0]
    return float(-(picked * np.asarray(mask)).sum() / np.asarray(mask).size)
""",
        "mask ignored": """
def masked_nll(logits, targets, mask):
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, np.asarray(targets)[..., None], axis=-1)[..., 0]
    return float(-picked.mean())
""",
        "sum instead of mean": """
def masked_nll(logits, targets, mask):
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, np.asarray(targets)[..., None], axis=-1)[..., 0]
    return float(-(picked * np.asarray(mask)).sum())
""",
        "no max-subtraction (overflow)": """
def masked_nll(logits, targets, mask):
    z = np.asarray(logits, dtype=np.float64)
    probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(probs, np.asarray(targets)[..., None], axis=-1)[..., 0]
    mask = np.asarray(mask, dtype=np.float64)
    return float(-(np.log(picked) * mask).sum() / mask.sum())
""",
    },
    "ex4_3_one_sgd_step": {
        "sign flip: y - p": """
def one_sgd_step(logits, target, lr):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max()); p /= p.sum()
    y = np.eye(len(z))[target]
    new = z - lr * (y - p)
    q = np.exp(new - new.max())
    return new, q / q.sum()
""",
        "gradient of the probability instead of the log-probability": """
def one_sgd_step(logits, target, lr):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max()); p /= p.sum()
    y = np.eye(len(z))[target]
    new = z - lr * p[target] * (p - y)
    q = np.exp(new - new.max())
    return new, q / q.sum()
""",
        "forgets the softmax renormalisation": """
def one_sgd_step(logits, target, lr):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max()); p /= p.sum()
    new = z - lr * (p - np.eye(len(z))[target])
    return new, np.exp(new)
""",
        "steps the probabilities instead of the logits": """
def one_sgd_step(logits, target, lr):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max()); p /= p.sum()
    grad = p - np.eye(len(z))[target]
    return z - lr * grad, p - lr * grad
""",
        "returns lists": """
def one_sgd_step(logits, target, lr):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max()); p /= p.sum()
    new = z - lr * (p - np.eye(len(z))[target])
    q = np.exp(new - new.max())
    return new.tolist(), (q / q.sum()).tolist()
""",
        "only the target logit moves": """
def one_sgd_step(logits, target, lr):
    z = np.array(logits, dtype=np.float64)
    p = np.exp(z - z.max()); p /= p.sum()
    z[target] += lr * (1 - p[target])
    q = np.exp(z - z.max())
    return z, q / q.sum()
""",
    },
}


MESSAGES = {
    ("ex4_1_sft_example", "no <|eos|> at the end"): "the example has no <|eos|>",
    ("ex4_1_sft_example", "returns lists"): "must be numpy arrays",
    ("ex4_2_masked_nll", "global max subtracted, not each row's"): "subtract EACH row's max",
    ("ex4_3_one_sgd_step", "steps the probabilities instead of the logits"): "step the LOGITS",
    ("ex4_3_one_sgd_step", "returns lists"): "must be numpy arrays",
}


class TestGrading(harness.ChapterGradingTests):
    """Reference answers get full marks; each typical wrong answer scores 0 (chapter_harness)."""

    chapter = CHAPTER
    wrong = WRONG
    written = {"analysis_4_6_preamble": 4}
    written_answer = "Almost every response starts with the preamble, so the model does too."
    n_questions = 6

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])


# ------------------------------------------------------------------ multiple-choice answer keys


J_PROBS = np.array([0.35, 0.25, 0.15, 0.10, 0.15])  # Je, J', Le, Mon, others; gold J' = 1


@pytest.fixture(scope="module")
def reference(answer_keys) -> dict:
    """The instructor's exercise functions, defined in a fresh namespace."""
    namespace = {"np": np}
    for grade_id in WRONG:
        exec(answer_keys[grade_id], namespace)  # noqa: S102 - the instructor's solutions
    return namespace


def test_q4_1_the_masked_prompt_is_still_read(quiz):
    from course_lib.data import encode_sft_example
    from course_lib.losses import cross_entropy
    from course_lib.tokenizers import CharTokenizer
    from course_lib.transformer import Transformer, TransformerConfig

    tokenizer = CharTokenizer.train("abcdefgh xyz")
    model = Transformer(TransformerConfig(vocab_size=tokenizer.vocab_size, block_size=16,
                                          n_layer=1, n_head=2, n_embd=16), seed=1)
    losses = []
    for instruction in ["abc", "hgf"]:  # same response, different (masked) prompt
        ids, mask = encode_sft_example(tokenizer, instruction, "xyz")
        logits = model.logits(ids[:-1]).astype(np.float64)
        losses.append(float(cross_entropy(logits, ids[1:], mask[1:])))
    assert not math.isclose(*losses)  # the response's loss depends on the prompt: it is read
    assert quiz["q4_1"][1] == "False"


def test_q4_2_only_the_probability_of_the_gold_token_counts(quiz):
    from course_lib.losses import token_losses

    widget, key = quiz["q4_2"]
    # first-token logits of the two models; token 0 is " Paris", the tail shares the rest
    model_a = np.array([0.15, 0.14, 0.12, 0.10, *[0.49 / 10] * 10])
    model_b = np.array([0.25, 0.50, 0.10, 0.05, *[0.10 / 10] * 10])
    assert np.argmax(model_a) == 0 and np.argmax(model_b) != 0
    loss_a, loss_b = (float(token_losses(np.log(m)[None], np.array([0]))[0])
                      for m in (model_a, model_b))
    assert f"{loss_a:.3f}" == "1.897" and f"{loss_b:.3f}" == "1.386"
    assert loss_b < loss_a
    assert key == "B"
    assert "1.386" in widget.explanations[key] and "1.897" in widget.explanations[key]


def test_q4_3_one_step_moves_the_logits_by_minus_lr_p_minus_y(quiz):
    from course_lib.losses import cross_entropy_grad, softmax_backward

    widget, key = quiz["q4_3"]
    change = -cross_entropy_grad(np.log(J_PROBS)[None], np.array([1]))[0]  # per unit of lr
    assert np.allclose(change, [-0.35, 0.75, -0.15, -0.10, -0.15])
    for value in ["0.75η", "0.35η", "0.15η", "0.10η"]:
        assert value in widget.options[key]
    # option C is the gradient of the probability p(J'), not of its log
    dprob = softmax_backward(J_PROBS, np.eye(5)[1])
    assert math.isclose(dprob[1], 0.1875) and "0.1875η" in widget.options["C"]
    assert key == "A"


def test_q4_4_the_strongest_competitor_loses_most(quiz, reference, source):
    _, new_probs = reference["one_sgd_step"](np.log(J_PROBS), 1, 1.0)
    drops = J_PROBS - new_probs
    drops[1] = -np.inf  # J' is the gold token, it gains
    assert int(np.argmax(drops)) == 0  # Je
    widget, key = quiz["q4_4"]
    assert key == "A" and widget.options[key] == "Je"
    # the worked example's table and the recap quote these probabilities
    text = "\n".join(c.source for c in source.cells if c.cell_type == "markdown")
    for value in new_probs:
        assert f"{value:.3f}" in text


def test_q4_5_mle_matches_the_share(quiz):
    q = np.linspace(0.001, 0.999, 999)
    loss = -0.9 * np.log(q) - 0.1 * np.log(1 - q)
    assert math.isclose(q[np.argmin(loss)], 0.9, abs_tol=1e-3)
    widget, key = quiz["q4_5"]
    assert key == "B" and widget.options[key].startswith("0.9")


# ------------------------------------------------------------------ reference vs course_lib


def test_reference_solutions_agree_with_course_lib(reference):
    """The demos fall back on course_lib when an exercise is unsolved: both must agree."""
    from course_lib.data import encode_sft_example
    from course_lib.losses import cross_entropy, cross_entropy_grad, softmax
    from course_lib.pretrained import load_base_model

    _, tokenizer = load_base_model()
    for instruction, response in [("What colour is snow?", "Snow is white."), ("", "x")]:
        ids, loss_mask = encode_sft_example(tokenizer, instruction, response)
        x, y, mask = reference["make_sft_example"](tokenizer, instruction, response)
        assert np.array_equal(x, ids[:-1]) and np.array_equal(y, ids[1:])
        assert np.array_equal(mask, loss_mask[1:])

    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 6, 11)) * 3
    targets = rng.integers(0, 11, size=(3, 6))
    mask = rng.integers(0, 2, size=(3, 6))
    mask[0, 0] = 1
    assert math.isclose(reference["masked_nll"](logits, targets, mask),
                        float(cross_entropy(logits, targets, mask)), rel_tol=1e-9)

    z = rng.normal(size=9)
    new_logits, new_probs = reference["one_sgd_step"](z, 4, 0.7)
    expected = z - 0.7 * cross_entropy_grad(z[None], np.array([4]))[0]
    assert np.allclose(new_logits, expected) and np.allclose(new_probs, softmax(expected))


def test_worked_example_of_the_objective(source):
    """1.715 nats for 0.25, 0.8, 0.9 (mean 0.572), as the prose says."""
    total = -np.log([0.25, 0.8, 0.9]).sum()
    text = "\n".join(c.source for c in source.cells if c.cell_type == "markdown")
    assert f"{total:.3f}" in text and f"{total / 3:.3f}" in text


def test_q4_6_data_made_only_of_answers_teaches_the_model_to_answer(quiz):
    from course_lib.corpus import default_corpus

    assert "Narnia" not in default_corpus()  # the model cannot know Narnia's capital (option B)
    widget, key = quiz["q4_6"]
    assert key == "A" and "imitate" in widget.options[key]
