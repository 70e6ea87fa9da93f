"""Chapter 3 (The pre-training objective): exercises reject typical wrong answers; quiz keys hold.

Each wrong answer is graded as a real submission (see chapter_harness); the test cell of its
exercise must score 0 and every other one full marks. Quiz keys are recomputed with course_lib
where the right answer can be computed.
"""

from __future__ import annotations

import math
import re

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

# Exercise 3.1 is one cell with three functions; each wrong answer swaps one of them.
TOKEN_LOSSES = """
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    return -log_softmax(logits[:-1])[np.arange(len(tokens) - 1), tokens[1:]]
"""
SEQUENCE_LOSS = """
def sequence_loss_from_logits(logits, tokens):
    return float(np.sum(next_token_losses(logits, tokens)))
"""
DATASET_LOSS = """
def dataset_loss_from_logits(examples):
    return float(sum(sequence_loss_from_logits(logits, tokens) for logits, tokens in examples))
"""


def losses_cell(token=TOKEN_LOSSES, sequence=SEQUENCE_LOSS, dataset=DATASET_LOSS) -> str:
    return token + sequence + dataset


CHAPTER = "ch3_pretraining_objective"  # read by the fixtures in conftest.py

# Typical wrong answers, written as learners write them: {solution grade_id: {name: code}}.
WRONG = {
    "ex3_1_losses": {
        "off-by-one: row t scores tokens[t]": losses_cell(token="""
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    return -log_softmax(logits[1:])[np.arange(len(tokens) - 1), tokens[1:]]
"""),
        "includes the first token": losses_cell(token="""
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    return -log_softmax(logits)[np.arange(len(tokens)), tokens]
"""),
        "mean instead of sum": losses_cell(sequence="""
def sequence_loss_from_logits(logits, tokens):
    return float(np.mean(next_token_losses(logits, tokens)))
"""),
        "forgets the minus sign": losses_cell(token="""
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    return log_softmax(logits[:-1])[np.arange(len(tokens) - 1), tokens[1:]]
"""),
        "raw logits, no log-softmax": losses_cell(token="""
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    return -logits[:-1][np.arange(len(tokens) - 1), tokens[1:]]
"""),
        "softmax without max-subtraction": losses_cell(token="""
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    e = np.exp(logits[:-1])
    probs = e / e.sum(axis=-1, keepdims=True)
    return -np.log(probs[np.arange(len(tokens) - 1), tokens[1:]])
"""),
        "global max subtracted, not each row's": losses_cell(token="""
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    z = logits[:-1] - logits.max()
    probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    return -np.log(probs[np.arange(len(tokens) - 1), tokens[1:]])
"""),
        "returns a list of losses": losses_cell(token="""
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    return [float(-log_softmax(logits[t - 1])[tokens[t]]) for t in range(1, len(tokens))]
"""),
        "dataset loss averages over sequences": losses_cell(dataset="""
def dataset_loss_from_logits(examples):
    return float(np.mean([sequence_loss_from_logits(lg, tk) for lg, tk in examples]))
"""),
        "dataset loss averages over tokens": losses_cell(dataset="""
def dataset_loss_from_logits(examples):
    total = sum(sequence_loss_from_logits(logits, tokens) for logits, tokens in examples)
    return float(total / sum(len(tokens) - 1 for _, tokens in examples))
"""),
        "log-softmax over the wrong axis": losses_cell(token="""
def next_token_losses(logits, tokens):
    logits, tokens = np.asarray(logits, dtype=np.float64), np.asarray(tokens)
    return -log_softmax(logits[:-1], axis=0)[np.arange(len(tokens) - 1), tokens[1:]]
"""),
        "dataset loss keeps only the last sequence": losses_cell(dataset="""
def dataset_loss_from_logits(examples):
    for logits, tokens in examples:
        total = sequence_loss_from_logits(logits, tokens)
    return float(total)
"""),
    },
    "ex3_3_perplexity": {
        "exp of the sum": """
def perplexity_from_losses(losses):
    return float(np.exp(np.sum(losses)))
""",
        "the mean loss, no exp": """
def perplexity_from_losses(losses):
    return float(np.mean(losses))
""",
        "2 ** mean (bits)": """
def perplexity_from_losses(losses):
    return float(2 ** np.mean(losses))
""",
        "exp of the median": """
def perplexity_from_losses(losses):
    return float(np.exp(np.median(losses)))
""",
        "mean of exp(loss)": """
def perplexity_from_losses(losses):
    return float(np.mean(np.exp(losses)))
""",
        "1 / mean probability": """
def perplexity_from_losses(losses):
    return float(1 / np.mean(np.exp(-np.asarray(losses))))
""",
        "divides the sum by n - 1": """
def perplexity_from_losses(losses):
    return float(np.exp(np.sum(losses) / (len(losses) - 1)))
""",
        "exp(-mean)": """
def perplexity_from_losses(losses):
    return float(np.exp(-np.mean(losses)))
""",
        "treats the losses as probabilities": """
def perplexity_from_losses(losses):
    return float(np.exp(np.mean(-np.log(losses))))
""",
        "exp of the largest loss": """
def perplexity_from_losses(losses):
    return float(np.exp(np.max(losses)))
""",
        "returns an array, not a float": """
def perplexity_from_losses(losses):
    return np.exp(np.mean(losses, keepdims=True))
""",
    },
    "ex3_2_cross_entropy_grad": {
        "sign flip: y - p": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    return one_hot(target, len(z)) - p
""",
        "softmax without max-subtraction": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z) / np.exp(z).sum()
    return p - one_hot(target, len(z))
""",
        "forgets the one-hot: subtracts 1 everywhere": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    return p - 1.0
""",
        "gradient with respect to the probabilities": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    grad = np.zeros_like(p)
    grad[target] = -1.0 / p[target]
    return grad
""",
        "returns p, forgets y": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    return np.exp(z - z.max()) / np.exp(z - z.max()).sum()
""",
        "one-hot at the most likely token, not the gold one": """
def softmax_ce_grad(logits, target):
    p = softmax(np.asarray(logits, dtype=np.float64))
    return p - one_hot(int(np.argmax(p)), len(p))
""",
        "log p - y": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    return log_softmax(z) - one_hot(target, len(z))
""",
        "subtracts the max in place": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    z -= z.max()
    p = np.exp(z) / np.exp(z).sum()
    return p - one_hot(target, len(z))
""",
        "returns a list": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    return (softmax(z) - one_hot(target, len(z))).tolist()
""",
        "divides by V": """
def softmax_ce_grad(logits, target):
    z = np.asarray(logits, dtype=np.float64)
    return (softmax(z) - one_hot(target, len(z))) / len(z)
""",
        "gradient of p(gold), not of -log p(gold)": """
def softmax_ce_grad(logits, target):
    p = softmax(np.asarray(logits, dtype=np.float64))
    return p[target] * (p - one_hot(target, len(p)))
""",
    },
}


# The phrase each one's visible check must show: every entry of WRONG has one.
MESSAGES = {
    ("ex3_1_losses", "off-by-one: row t scores tokens[t]"):
        "off-by-one: row t of the logits scores tokens[t + 1]",
    ("ex3_1_losses", "includes the first token"): "the first token is given (not predicted)",
    ("ex3_1_losses", "mean instead of sum"):
        "you averaged the token losses instead of summing them",
    ("ex3_1_losses", "forgets the minus sign"): "you forgot the minus sign",
    ("ex3_1_losses", "raw logits, no log-softmax"): "you used the raw logits",
    ("ex3_1_losses", "softmax without max-subtraction"): "exp overflowed",
    ("ex3_1_losses", "global max subtracted, not each row's"): "subtract EACH row's max",
    ("ex3_1_losses", "returns a list of losses"): "return a numpy array",
    ("ex3_1_losses", "dataset loss averages over sequences"): "you averaged over the sequences",
    ("ex3_1_losses", "dataset loss averages over tokens"): "you averaged over all tokens",
    ("ex3_1_losses", "log-softmax over the wrong axis"): "you normalised over the wrong axis",
    ("ex3_1_losses", "dataset loss keeps only the last sequence"):
        "you kept only the last sequence's loss",
    ("ex3_2_cross_entropy_grad", "sign flip: y - p"): "sign flipped",
    ("ex3_2_cross_entropy_grad", "softmax without max-subtraction"): "missing max-subtraction",
    ("ex3_2_cross_entropy_grad", "forgets the one-hot: subtracts 1 everywhere"):
        "you subtracted 1 from every entry",
    ("ex3_2_cross_entropy_grad", "gradient with respect to the probabilities"):
        "the gradient with respect to the probabilities",
    ("ex3_2_cross_entropy_grad", "returns p, forgets y"): "you returned p",
    ("ex3_2_cross_entropy_grad", "one-hot at the most likely token, not the gold one"):
        "at the most likely token, not at the gold one",
    ("ex3_2_cross_entropy_grad", "log p - y"): "you used log p",
    ("ex3_2_cross_entropy_grad", "subtracts the max in place"):
        "changed the caller's logits in place",
    ("ex3_2_cross_entropy_grad", "returns a list"): "return a numpy array",
    ("ex3_2_cross_entropy_grad", "divides by V"): "you divided by the number of entries V",
    ("ex3_2_cross_entropy_grad", "gradient of p(gold), not of -log p(gold)"):
        "the gradient of the probability p(gold)",
    ("ex3_3_perplexity", "exp of the sum"): "exp of the SUM",
    ("ex3_3_perplexity", "the mean loss, no exp"): "perplexity is exp(mean loss)",
    ("ex3_3_perplexity", "2 ** mean (bits)"): "you used 2 ** mean",
    ("ex3_3_perplexity", "exp of the median"): "exp of the MEDIAN",
    ("ex3_3_perplexity", "mean of exp(loss)"): "not the mean of exp(loss)",
    ("ex3_3_perplexity", "1 / mean probability"): "1 / (mean probability)",
    ("ex3_3_perplexity", "divides the sum by n - 1"): "you divided the sum by n - 1",
    ("ex3_3_perplexity", "exp(-mean)"): "you took exp(-mean)",
    ("ex3_3_perplexity", "treats the losses as probabilities"):
        "you treated the losses as probabilities",
    ("ex3_3_perplexity", "exp of the largest loss"): "exp of the largest loss",
    ("ex3_3_perplexity", "returns an array, not a float"): "return a Python float",
}


class TestGrading(harness.ChapterGradingTests):
    """Reference answers get full marks; each typical wrong answer scores 0 (chapter_harness)."""

    chapter = CHAPTER
    wrong = WRONG
    written = {"analysis_3_8_one_model": 3}
    written_answer = "q = 0.7, since one model has to fit all 100 sentences."
    n_questions = 9
    questions = ("q3_1", "q3_2", "q3_3_2", "q3_4_2", "q3_5", "q3_6", "q3_7", "q3_8", "q3_9")

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


def test_reference_solutions_agree_with_course_lib(answer_keys):
    """The demos fall back on course_lib when an exercise is unsolved: both must agree."""
    from course_lib import losses

    namespace = {"np": np, "log_softmax": losses.log_softmax, "one_hot": losses.one_hot,
                 "softmax": losses.softmax}
    for grade_id in WRONG:
        exec(answer_keys[grade_id], namespace)  # noqa: S102 - the instructor's solutions
    rng = np.random.default_rng(5)
    examples = []
    for length in (2, 7, 30):
        logits, tokens = rng.normal(size=(length, 17)) * 4, rng.integers(0, 17, size=length)
        examples.append((logits, tokens))
        expected = losses.token_losses(logits[:-1], tokens[1:])
        assert np.allclose(namespace["next_token_losses"](logits, tokens), expected)
        assert math.isclose(namespace["sequence_loss_from_logits"](logits, tokens),
                            float(losses.cross_entropy(logits[:-1], tokens[1:], reduction="sum")))
        for target in (0, 16):
            assert np.allclose(namespace["softmax_ce_grad"](logits[0], target),
                               losses.cross_entropy_grad(logits[:1], [target], reduction="sum")[0])
    total = sum(float(losses.token_losses(lg[:-1], tk[1:]).sum()) for lg, tk in examples)
    assert math.isclose(namespace["dataset_loss_from_logits"](examples), total)


def test_q3_1_cross_entropy_with_one_hot_is_minus_log_p_gold(quiz):
    from course_lib.losses import one_hot, token_losses

    p = np.array([0.5, 0.2, 0.2, 0.1])
    rome = 1
    loss = float(token_losses(np.log(p)[None], np.array([rome]))[0])
    assert math.isclose(loss, -float(np.sum(one_hot(rome, 4) * np.log(p))))
    widget, key = quiz["q3_1"]
    assert widget.options[key] == f"{loss:.3f}"
    distractors = {  # what each wrong option computes
        "A": -math.log(p.max()),
        "B": float(-(p * np.log(p)).sum()),
        "D": float(-np.log(p).sum()),
        "E": 1 - p[rome],
    }
    for letter, value in distractors.items():
        assert float(widget.options[letter]) == pytest.approx(value, abs=1e-3), letter


def test_q3_2_four_tokens_make_three_predictions_from_full_prefixes(quiz):
    from course_lib.losses import sequence_loss
    from course_lib.transformer import Transformer, TransformerConfig

    model = Transformer(TransformerConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2,
                                          n_embd=16), seed=1, dtype=np.float64)
    x = [3, 7, 1, 9]
    by_prefix = sum(-math.log(model.next_token_probs(x[:t])[x[t]]) for t in range(1, 4))
    previous_only = sum(-math.log(model.next_token_probs(x[t - 1:t])[x[t]]) for t in range(1, 4))
    assert math.isclose(sequence_loss(model, x), by_prefix)
    assert not math.isclose(sequence_loss(model, x), previous_only)  # option C is a bigram
    assert quiz["q3_2"][1] == "B"


def test_q3_3_sequence_loss_is_the_sum_of_minus_log_probabilities(quiz):
    from course_lib.losses import cross_entropy

    probs = [0.5, 0.2, 0.8]  # P(cat | The), P(sat | The cat), P(on | The cat sat)
    logits = np.log([[p, 1 - p] for p in probs])
    total = float(cross_entropy(logits, np.zeros(3, dtype=int), reduction="sum"))
    widget, key = quiz["q3_3_2"]
    assert key == "A" and float(widget.options[key]) == pytest.approx(total, abs=1e-3)
    distractors = {"B": total / 3, "C": math.prod(probs), "D": sum(probs), "E": -math.log(0.5)}
    for letter, value in distractors.items():
        assert float(widget.options[letter]) == pytest.approx(value, abs=1e-3), letter


def test_q3_4_dataset_loss_is_the_sum_of_token_losses(quiz):
    token_losses = [2.0] * 3 + [1.0] * 5  # two sequences: 3 tokens of mean 2.0, 5 of mean 1.0
    widget, key = quiz["q3_4_2"]
    assert key == "A" and float(widget.options[key]) == pytest.approx(sum(token_losses))
    distractors = {"B": 2.0 + 1.0, "C": (2.0 + 1.0) / 2, "D": sum(token_losses) / len(token_losses)}
    for letter, value in distractors.items():
        assert float(widget.options[letter]) == pytest.approx(value), letter


def test_q3_5_one_parameter_set_for_the_whole_dataset(quiz):
    widget, key = quiz["q3_5"]
    assert "its own parameters" in widget.question
    assert key == "False"


def test_q3_6_only_per_sequence_reweighting_moves_the_minimiser(quiz):
    # a unigram model with one parameter q = p(a); sequence 1 predicts "a" nine times, sequence 2
    # predicts "b" once. Each option's objective, minimised over a grid of q:
    q = np.linspace(0.001, 0.999, 999)
    seq_a, seq_b = 9 * -np.log(q), -np.log(1 - q)
    total = seq_a + seq_b
    objectives = {
        "A": total / 2,
        "B": total / 10,
        "C": total / math.log(2),
        "D": seq_a / 9 + seq_b / 1,
    }
    best = q[np.argmin(total)]
    moved = {letter for letter, f in objectives.items() if not np.isclose(q[np.argmin(f)], best)}
    assert moved == {"D"}
    assert quiz["q3_6"][1] == "D"


def test_q3_7_uniform_model_costs_log_v_and_has_perplexity_v(quiz):
    from course_lib.losses import cross_entropy, perplexity

    loss = float(cross_entropy(np.zeros((3, 1024)), np.array([0, 17, 1023])))
    assert math.isclose(loss, math.log(1024)) and math.isclose(perplexity(loss), 1024)
    widget, key = quiz["q3_7"]
    assert key == "B" and f"{loss:.2f}" in widget.options[key] and "1024" in widget.options[key]


def test_written_answer_numbers(source):
    """The written question's model answer: q = 0.7 minimises 70 (-ln q) + 30 (-ln(1-q))."""
    cell = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "analysis_3_8_one_model")
    q = np.linspace(0.001, 0.999, 999)
    loss = 70 * -np.log(q) + 30 * -np.log(1 - q)
    assert q[np.argmin(loss)] == pytest.approx(0.7)
    minimum = -70 * math.log(0.7) - 30 * math.log(0.3)
    assert f"{minimum:.2f}" in cell.source
    assert re.search(r"Rubric \(3 pts\)", cell.source)


def test_q3_8_rising_validation_loss_with_falling_training_loss_is_overfitting(quiz):
    widget, key = quiz["q3_8"]
    assert key == "A" and widget.options[key].startswith("The model is overfitting")


def test_perplexity_reference_agrees_with_course_lib(answer_keys):
    from course_lib.losses import perplexity as course_perplexity

    namespace = {"np": np}
    exec(answer_keys["ex3_3_perplexity"], namespace)  # noqa: S102 - the instructor's solution
    losses = np.random.default_rng(5).uniform(0, 4, size=30)
    yours = namespace["perplexity_from_losses"](losses)
    assert math.isclose(yours, course_perplexity(float(losses.mean())))


def test_q3_9_one_set_of_parameters_minimises_the_total(quiz):
    widget, key = quiz["q3_9"]
    assert key == "A" and f"{8.4 + 2.1 + 5.5:.1f}" in widget.options[key]


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
