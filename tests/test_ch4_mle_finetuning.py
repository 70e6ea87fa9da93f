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
from hypothesis import given, settings
from hypothesis import strategies as st
from wrong_messages import (
    ChapterRun,
    altered,
    check_hidden_cases_reject,
    check_named_message,
    check_table_is_complete,
    defined_functions,
)

CHAPTER = "ch4_mle_finetuning"  # read by the fixtures in conftest.py

# Shared beginnings of the wrong answers below (each wrong answer is a whole solution cell).
SFT_PARTS = """
def make_sft_example(tokenizer, instruction, response):
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    ids = np.array(prompt + answer)
    mask = np.array([0] * len(prompt) + [1] * len(answer))
"""
NLL_PARTS = """
def masked_nll(logits, targets, mask):
    z = np.asarray(logits, dtype=np.float64)
    targets, mask = np.asarray(targets), np.asarray(mask, dtype=np.float64)
"""
LOG_PROBS = """
    z = z - z.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
"""
STEP_PARTS = """
def one_sgd_step(logits, target, lr):
    z = np.array(logits, dtype=np.float64)
    p = softmax(z)
"""
TRAIN_PARTS = """
def training_step(W, x, y, mask, lr):
    W, x, y = np.asarray(W, dtype=np.float64), np.asarray(x), np.asarray(y)
    mask = np.asarray(mask, dtype=np.float64)
    probs = softmax(W[x])
    n = mask.sum()
    gold = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
    loss = float(-(np.log(gold) * mask).sum() / n)
"""
GRAD_W = """
    grad = np.zeros_like(W)
    np.add.at(grad, x, dlogits)
"""

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
        "mask not shifted with the targets (off by one)":
            SFT_PARTS + "    return ids[:-1], ids[1:], mask[:-1]\n",
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
        "targets not shifted": SFT_PARTS + "    return ids[:-1], ids[:-1], mask[1:]\n",
        "no <|response|> marker": """
def make_sft_example(tokenizer, instruction, response):
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction)]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    ids = np.array(prompt + answer)
    mask = np.array([0] * len(prompt) + [1] * len(answer))
    return ids[:-1], ids[1:], mask[1:]
""",
        "no <|instruction|> marker": """
def make_sft_example(tokenizer, instruction, response):
    prompt = [*tokenizer.encode(instruction), tokenizer.response_id]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    ids = np.array(prompt + answer)
    mask = np.array([0] * len(prompt) + [1] * len(answer))
    return ids[:-1], ids[1:], mask[1:]
""",
        "x and y swapped": SFT_PARTS + "    return ids[1:], ids[:-1], mask[1:]\n",
        "mask of the full sequence, not of the targets":
            SFT_PARTS + "    return ids[:-1], ids[1:], mask\n",
        "x keeps the last id": SFT_PARTS + "    return ids, ids[1:], mask[1:]\n",
    },
    "ex4_2_masked_nll": {
        "global max subtracted, not each row's": NLL_PARTS + """
    z = z - z.max()
    probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(probs, targets[..., None], axis=-1)[..., 0]
    return float(-(np.log(picked) * mask).sum() / mask.sum())
""",
        "mean over all tokens instead of the masked ones": NLL_PARTS + LOG_PROBS
        + "    return float(-(picked * mask).sum() / mask.size)\n",
        "mask ignored": NLL_PARTS + LOG_PROBS + "    return float(-picked.mean())\n",
        "sum instead of mean": NLL_PARTS + LOG_PROBS + "    return float(-(picked * mask).sum())\n",
        "no max-subtraction (overflow)": NLL_PARTS + """
    probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(probs, targets[..., None], axis=-1)[..., 0]
    return float(-(np.log(picked) * mask).sum() / mask.sum())
""",
        "probabilities without the log": NLL_PARTS + """
    probs = softmax(z)
    picked = np.take_along_axis(probs, targets[..., None], axis=-1)[..., 0]
    return float(-(picked * mask).sum() / mask.sum())
""",
        "forgets the minus sign":
            NLL_PARTS + LOG_PROBS + "    return float((picked * mask).sum() / mask.sum())\n",
        "mask multiplied into the logits": NLL_PARTS + """
    log_probs = log_softmax(z * mask[..., None])
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    return float(-picked.mean())
""",
        "divides by n - 1":
            NLL_PARTS + LOG_PROBS + "    return float(-(picked * mask).sum() / (mask.sum() - 1))\n",
        "log-softmax over the wrong axis": NLL_PARTS + """
    log_probs = log_softmax(z, axis=0)
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    return float(-(picked * mask).sum() / mask.sum())
""",
        "indexes rows for one example only (fails on a batch)": NLL_PARTS + """
    log_probs = log_softmax(z)
    picked = log_probs[np.arange(len(targets)), targets]
    return float(-(picked * mask).sum() / mask.sum())
""",
        "mean of each row's mean": NLL_PARTS + LOG_PROBS + """
    if picked.ndim == 1:
        return float(-(picked * mask).sum() / mask.sum())
    return float(np.mean([-(p * m).sum() / m.sum() for p, m in zip(picked, mask)]))
""",
    },
    "ex4_3_one_sgd_step": {
        "sign flip: y - p": STEP_PARTS + """
    new = z - lr * (one_hot(target, len(z)) - p)
    return new, softmax(new)
""",
        "gradient of the probability instead of the log-probability": STEP_PARTS + """
    new = z - lr * p[target] * (p - one_hot(target, len(z)))
    return new, softmax(new)
""",
        "forgets the softmax renormalisation": STEP_PARTS + """
    new = z - lr * (p - one_hot(target, len(z)))
    return new, np.exp(new)
""",
        "steps the probabilities instead of the logits": STEP_PARTS + """
    grad = p - one_hot(target, len(z))
    return z - lr * grad, p - lr * grad
""",
        "returns lists": STEP_PARTS + """
    new = z - lr * (p - one_hot(target, len(z)))
    return new.tolist(), softmax(new).tolist()
""",
        "only the target logit moves": STEP_PARTS + """
    z[target] += lr * (1 - p[target])
    return z, softmax(z)
""",
        "changes the caller's logits in place": """
def one_sgd_step(logits, target, lr):
    z = np.asarray(logits, dtype=np.float64)
    p = softmax(z)
    z -= lr * (p - one_hot(target, len(z)))
    return z, softmax(z)
""",
        "subtracts 1 from every entry: p - 1": STEP_PARTS + """
    new = z - lr * (p - 1.0)
    return new, softmax(new)
""",
        "returns the old probabilities": STEP_PARTS + """
    new = z - lr * (p - one_hot(target, len(z)))
    return new, p
""",
        "no learning rate": STEP_PARTS + """
    new = z - (p - one_hot(target, len(z)))
    return new, softmax(new)
""",
        "new softmax without max-subtraction": STEP_PARTS + """
    new = z - lr * (p - one_hot(target, len(z)))
    return new, np.exp(new) / np.exp(new).sum()
""",
        "pushes up the most likely token, not the target": STEP_PARTS + """
    new = z - lr * (p - one_hot(int(np.argmax(p)), len(z)))
    return new, softmax(new)
""",
    },
    "ex4_4_training_step": {
        "sign flip: W + lr * gradient": TRAIN_PARTS + """
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n""" + GRAD_W + """
    return W + lr * grad, loss
""",
        "grad[x] += ...: repeated tokens counted once": TRAIN_PARTS + """
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n
    grad = np.zeros_like(W)
    grad[x] += dlogits
    return W - lr * grad, loss
""",
        "mask left out of the gradient": TRAIN_PARTS + """
    dlogits = (probs - one_hot(y, W.shape[1])) / n""" + GRAD_W + """
    return W - lr * grad, loss
""",
        "loss averaged over every position": TRAIN_PARTS + """
    loss = float(-np.log(gold).mean())
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n""" + GRAD_W + """
    return W - lr * grad, loss
""",
        "gradient divided by every position": TRAIN_PARTS + """
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / mask.size""" + GRAD_W + """
    return W - lr * grad, loss
""",
        "gradient not divided by the scored count": TRAIN_PARTS + """
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None]""" + GRAD_W + """
    return W - lr * grad, loss
""",
        "gradient p, forgets y": TRAIN_PARTS + """
    dlogits = probs * mask[..., None] / n""" + GRAD_W + """
    return W - lr * grad, loss
""",
        "one-hot of the inputs x": TRAIN_PARTS + """
    dlogits = (probs - one_hot(x, W.shape[1])) * mask[..., None] / n""" + GRAD_W + """
    return W - lr * grad, loss
""",
        "updates W in place": """
def training_step(W, x, y, mask, lr):
    x, y, mask = np.asarray(x), np.asarray(y), np.asarray(mask, dtype=np.float64)
    probs = softmax(W[x])
    n = mask.sum()
    gold = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
    loss = float(-(np.log(gold) * mask).sum() / n)
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n
    grad = np.zeros_like(W)
    np.add.at(grad, x, dlogits)
    W -= lr * grad
    return W, loss
""",
        "returns the loss after the step": TRAIN_PARTS + """
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n""" + GRAD_W + """
    new_W = W - lr * grad
    after = np.take_along_axis(softmax(new_W[x]), y[..., None], axis=-1)[..., 0]
    return new_W, float(-(np.log(after) * mask).sum() / n)
""",
        "loss: sum instead of mean": TRAIN_PARTS + """
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n""" + GRAD_W + """
    return W - lr * grad, float(loss * n)
""",
        "logits read from the targets' rows W[y]": """
def training_step(W, x, y, mask, lr):
    W, x, y = np.asarray(W, dtype=np.float64), np.asarray(x), np.asarray(y)
    mask = np.asarray(mask, dtype=np.float64)
    probs = softmax(W[y])
    n = mask.sum()
    gold = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
    loss = float(-(np.log(gold) * mask).sum() / n)
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n
    grad = np.zeros_like(W)
    np.add.at(grad, y, dlogits)
    return W - lr * grad, loss
""",
        "softmax over the wrong axis": """
def training_step(W, x, y, mask, lr):
    W, x, y = np.asarray(W, dtype=np.float64), np.asarray(x), np.asarray(y)
    mask = np.asarray(mask, dtype=np.float64)
    logits = W[x]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    n = mask.sum()
    gold = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
    loss = float(-(np.log(gold) * mask).sum() / n)
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n
    grad = np.zeros_like(W)
    np.add.at(grad, x, dlogits)
    return W - lr * grad, loss
""",
        "returns the gradient instead of the new W": TRAIN_PARTS + """
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n""" + GRAD_W + """
    return grad, loss
""",
        "loss without the log": TRAIN_PARTS + """
    loss = float(-(gold * mask).sum() / n)
    dlogits = (probs - one_hot(y, W.shape[1])) * mask[..., None] / n""" + GRAD_W + """
    return W - lr * grad, loss
""",
    },
}

# The phrase each one's visible check must show: every entry of WRONG has one.
MESSAGES = {
    ("ex4_1_sft_example", "no <|eos|> at the end"): "the example has no <|eos|>",
    ("ex4_1_sft_example", "returns lists"): "must be numpy arrays",
    ("ex4_1_sft_example", "mask not shifted with the targets (off by one)"):
        "your mask is aligned with the inputs x",
    ("ex4_1_sft_example", "eos not in the loss"): "the final <|eos|> must be in the loss",
    ("ex4_1_sft_example", "mask on the prompt tokens"): "your mask selects the prompt",
    ("ex4_1_sft_example", "no mask: every target scored"): "no masking",
    ("ex4_1_sft_example", "targets not shifted"): "y equals x",
    ("ex4_1_sft_example", "no <|response|> marker"): "the <|response|> marker is missing",
    ("ex4_1_sft_example", "no <|instruction|> marker"): "the <|instruction|> marker is missing",
    ("ex4_1_sft_example", "x and y swapped"): "you swapped x and y",
    ("ex4_1_sft_example", "mask of the full sequence, not of the targets"):
        "your mask has one entry per id",
    ("ex4_1_sft_example", "x keeps the last id"): "x keeps the last id",
    ("ex4_2_masked_nll", "global max subtracted, not each row's"): "subtract EACH row's max",
    ("ex4_2_masked_nll", "mean over all tokens instead of the masked ones"):
        "divide by the number of scored tokens",
    ("ex4_2_masked_nll", "mask ignored"): "the prompt position (mask 0) must be left out",
    ("ex4_2_masked_nll", "sum instead of mean"): "you returned the sum of the scored token losses",
    ("ex4_2_masked_nll", "no max-subtraction (overflow)"): "subtract the max logit",
    ("ex4_2_masked_nll", "probabilities without the log"): "use the LOG of the probabilities",
    ("ex4_2_masked_nll", "forgets the minus sign"): "did you forget the minus sign",
    ("ex4_2_masked_nll", "mask multiplied into the logits"):
        "you multiplied the mask into the logits",
    ("ex4_2_masked_nll", "divides by n - 1"): "not n - 1",
    ("ex4_2_masked_nll", "log-softmax over the wrong axis"): "the LAST axis",
    ("ex4_2_masked_nll", "indexes rows for one example only (fails on a batch)"): "for a batch",
    ("ex4_2_masked_nll", "mean of each row's mean"): "not the mean of each row's mean",
    ("ex4_3_one_sgd_step", "sign flip: y - p"): "sign flipped",
    ("ex4_3_one_sgd_step", "gradient of the probability instead of the log-probability"):
        "gradient of the probability",
    ("ex4_3_one_sgd_step", "forgets the softmax renormalisation"): "renormalisation",
    ("ex4_3_one_sgd_step", "steps the probabilities instead of the logits"): "step the LOGITS",
    ("ex4_3_one_sgd_step", "returns lists"): "must be numpy arrays",
    ("ex4_3_one_sgd_step", "only the target logit moves"): "the other logits must move too",
    ("ex4_3_one_sgd_step", "changes the caller's logits in place"):
        "changed the caller's logits in place",
    ("ex4_3_one_sgd_step", "subtracts 1 from every entry: p - 1"):
        "only the target's entry gets -1",
    ("ex4_3_one_sgd_step", "returns the old probabilities"): "the probabilities BEFORE the step",
    ("ex4_3_one_sgd_step", "no learning rate"): "the step must scale with lr",
    ("ex4_3_one_sgd_step", "new softmax without max-subtraction"): "subtract the max logit",
    ("ex4_3_one_sgd_step", "pushes up the most likely token, not the target"):
        "the most likely token",
    ("ex4_4_training_step", "sign flip: W + lr * gradient"): "sign flipped",
    ("ex4_4_training_step", "grad[x] += ...: repeated tokens counted once"): "np.add.at",
    ("ex4_4_training_step", "mask left out of the gradient"):
        "multiply the logits' gradient by the mask",
    ("ex4_4_training_step", "loss averaged over every position"): "the mean over EVERY position",
    ("ex4_4_training_step", "gradient divided by every position"):
        "divide by the number of SCORED positions",
    ("ex4_4_training_step", "gradient not divided by the scored count"): "the gradient of the SUM",
    ("ex4_4_training_step", "gradient p, forgets y"): "subtract the one-hot of the targets",
    ("ex4_4_training_step", "one-hot of the inputs x"): "the one-hot of the INPUTS",
    ("ex4_4_training_step", "updates W in place"): "changed the caller's W in place",
    ("ex4_4_training_step", "returns the loss after the step"): "the loss AFTER the step",
    ("ex4_4_training_step", "loss: sum instead of mean"): "your loss is the SUM",
    ("ex4_4_training_step", "logits read from the targets' rows W[y]"): "the rows of the TARGETS",
    ("ex4_4_training_step", "softmax over the wrong axis"): "the wrong axis",
    ("ex4_4_training_step", "returns the gradient instead of the new W"):
        "you returned the gradient",
    ("ex4_4_training_step", "loss without the log"): "your loss has no log",
}


class TestGrading(harness.ChapterGradingTests):
    """Reference answers get full marks; each typical wrong answer scores 0 (chapter_harness)."""

    chapter = CHAPTER
    wrong = WRONG
    written = {"analysis_4_6_preamble": 4}
    written_answer = "Almost every response starts with the preamble, so the model does too."
    n_questions = 6
    questions = ("q4_1", "q4_2", "q4_3_2", "q4_4_2", "q4_5_2", "q4_6")

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])


def test_every_exercise_has_ten_wrong_answers_each_with_its_message():
    check_table_is_complete(WRONG, MESSAGES)


@pytest.fixture(scope="module")
def hidden(source):
    return ChapterRun(source)


@pytest.mark.parametrize("case", MESSAGES, ids=str)
def test_named_mistake_loses_its_points_in_the_hidden_tests(hidden, answer_keys, case):
    check_hidden_cases_reject(hidden, answer_keys[case[0]], WRONG, case)


# ------------------------------------------------------------------ multiple-choice answer keys


J_PROBS = np.array([0.35, 0.25, 0.15, 0.10, 0.15])  # Je, J', Le, Mon, others; gold J' = 1


@pytest.fixture(scope="module")
def reference(answer_keys) -> dict:
    """The instructor's exercise functions, defined in a fresh namespace."""
    from course_lib.losses import log_softmax, one_hot, softmax

    namespace = {"np": np, "log_softmax": log_softmax, "one_hot": one_hot, "softmax": softmax}
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
    # the first token at two moments of one run; token 0 is " Paris", 1 " London", 2 " The",
    # ten others share the rest
    state_a = np.array([0.15, 0.10, 0.08, *[0.67 / 14] * 14])
    state_b = np.array([0.25, 0.05, 0.04, *[0.66 / 14] * 14])
    for state in (state_a, state_b):
        assert math.isclose(state.sum(), 1) and state[3:].max() < 0.05
    loss_a, loss_b = (float(token_losses(np.log(state)[None], np.array([0]))[0])
                      for state in (state_a, state_b))
    assert f"{loss_a:.3f} {loss_b:.3f}" == "1.897 1.386"
    assert key == "A" and "1.897" in widget.options[key] and "1.386" in widget.options[key]
    assert f"{loss_a - loss_b:.3f}" in widget.explanations["C"]  # the fall of the log, not of p


def test_q4_3_one_step_moves_the_logits_by_minus_lr_p_minus_y(quiz):
    from course_lib.losses import cross_entropy_grad, softmax_backward

    widget, key = quiz["q4_3_2"]
    probs = np.array([0.6, 0.3, 0.1])  # blue (gold), green, red
    change = -cross_entropy_grad(np.log(probs)[None], np.array([0]))[0]  # per unit of lr
    assert np.allclose(change, [0.4, -0.3, -0.1])
    assert key == "A"
    assert widget.options[key] == "blue rises by 0.4η; green falls by 0.3η, red by 0.1η"
    # option E is the gradient of the probability p(blue), not of its log
    dprob = softmax_backward(probs, np.eye(3)[0])
    assert np.allclose(dprob, [0.24, -0.18, -0.06])
    assert widget.options["E"].startswith("blue rises by 0.24η")


def test_q4_4_a_confident_right_prediction_barely_moves(quiz, reference, source):
    rises = [reference["one_sgd_step"](np.log([p, 1 - p]), 0, 1.0)[0][0] - math.log(p)
             for p in (0.99, 0.25)]
    assert np.allclose(rises, [0.01, 0.75])
    widget, key = quiz["q4_4_2"]
    assert key == "A" and widget.options[key].startswith("0.01η and 0.75η")
    # the worked example's table and the recap quote the J' step's new probabilities
    _, new_probs = reference["one_sgd_step"](np.log(J_PROBS), 1, 1.0)
    text = "\n".join(c.source for c in source.cells if c.cell_type == "markdown")
    for value in new_probs:
        assert f"{value:.3f}" in text


def test_q4_5_mle_matches_the_share_of_what_the_model_cannot_tell_apart(quiz):
    # the legs family: 3 of 12 responses with the preamble; no other term depends on this q
    q = np.linspace(0.001, 0.999, 999)
    legs_terms = -3 * np.log(q) - 9 * np.log(1 - q)
    assert math.isclose(q[np.argmin(legs_terms)], 0.25, abs_tol=1e-3)
    widget, key = quiz["q4_5_2"]
    assert key == "B" and widget.options[key].startswith("0.25")


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

    # one training step of a bigram model = the masked loss and its gradient, routed to W's rows
    W = rng.normal(size=(11, 11))
    x, y = rng.integers(0, 11, size=(3, 6)), rng.integers(0, 11, size=(3, 6))
    new_W, loss = reference["training_step"](W, x, y, mask, 0.3)
    assert math.isclose(loss, float(cross_entropy(W[x], y, mask)), rel_tol=1e-9)
    grad = np.zeros_like(W)
    for b, t in np.ndindex(x.shape):
        grad[x[b, t]] += cross_entropy_grad(W[x], y, mask)[b, t]
    assert np.allclose(new_W, W - 0.3 * grad)


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


@settings(max_examples=25, deadline=None)
@given(solution_id=st.sampled_from(sorted(WRONG)), which=st.integers(0, 5),
       factor=st.floats(0.2, 5.0).filter(lambda f: abs(f - 1) > 1e-3), position=st.integers(0, 2))
def test_no_altered_answer_passes_the_visible_checks(hidden, answer_keys, solution_id, which,
                                                     factor, position):
    """Any wrong value, not only the table's, fails a visible check with an AssertionError."""
    code = answer_keys[solution_id]
    names = defined_functions(code)
    alteration = (names[which % len(names)], lambda value: altered(value, factor, position))
    assert hidden.outcome(solution_id, code) == "passed"
    assert hidden.outcome(solution_id, code, alteration) == "AssertionError"
