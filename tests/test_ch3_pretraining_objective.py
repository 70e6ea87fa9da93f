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
from wrong_messages import check_named_message

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
    },
}


MESSAGES = {
    ("ex3_3_perplexity", "exp of the sum"): "exp of the SUM",
    ("ex3_3_perplexity", "the mean loss, no exp"): "perplexity is exp(mean loss)",
    ("ex3_3_perplexity", "2 ** mean (bits)"): "you used 2 ** mean",
    ("ex3_1_losses", "off-by-one: row t scores tokens[t]"):
        "off-by-one: row t of the logits scores tokens[t + 1]",
    ("ex3_1_losses", "global max subtracted, not each row's"): "subtract EACH row's max",
    ("ex3_1_losses", "returns a list of losses"): "return a numpy array",
}


class TestGrading(harness.ChapterGradingTests):
    """Reference answers get full marks; each typical wrong answer scores 0 (chapter_harness)."""

    chapter = CHAPTER
    wrong = WRONG
    written = {"analysis_3_8_one_model": 3}
    written_answer = "q = 0.7, since one model has to fit all 100 sentences."
    n_questions = 9

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])


# ------------------------------------------------------------------ multiple-choice answer keys


def test_reference_solutions_agree_with_course_lib(answer_keys):
    """The demos fall back on course_lib when an exercise is unsolved: both must agree."""
    from course_lib import losses

    namespace = {"np": np, "log_softmax": losses.log_softmax, "one_hot": losses.one_hot}
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


def example_logits(losses, vocab_size=5, seed=0):
    """Logits whose token losses are `losses` (the chapter's setup helper, re-derived here)."""
    gen = np.random.default_rng(seed)
    tokens = gen.integers(0, vocab_size, size=len(losses) + 1)
    logits = gen.normal(size=(len(losses) + 1, vocab_size))
    for t, loss in enumerate(losses):
        others = np.delete(np.arange(vocab_size), tokens[t + 1])
        logits[t, others] = np.log((1 - math.exp(-loss)) / (vocab_size - 1))
        logits[t, tokens[t + 1]] = -loss
    return logits, tokens


def test_q3_3_sequence_loss_is_the_sum(quiz):
    from course_lib.losses import cross_entropy, token_losses

    logits, tokens = example_logits([1.2, 0.5, 2.3])
    assert np.allclose(token_losses(logits[:-1], tokens[1:]), [1.2, 0.5, 2.3])
    total = float(cross_entropy(logits[:-1], tokens[1:], reduction="sum"))
    widget, key = quiz["q3_3"]
    assert float(widget.options[key]) == pytest.approx(total) == pytest.approx(4.0)


def test_q3_4_dataset_loss_is_the_sum_over_sequences(quiz):
    from course_lib.losses import dataset_loss

    sequences = {(0, 1, 2): [3.0, 5.4], (3, 4): [2.1], (1, 1, 1, 0): [1.5, 2.5, 1.5]}

    class FixedModel:  # a "model" whose token losses are the ones above
        def logits(self, ids):
            context = tuple(np.asarray(ids)[0])
            sequence = next(s for s in sequences if s[:-1] == context)
            out = np.empty((1, len(context), 5))
            for t, (gold, loss) in enumerate(zip(sequence[1:], sequences[sequence], strict=True)):
                probs = np.full(5, (1 - math.exp(-loss)) / 4)
                probs[gold] = math.exp(-loss)
                out[0, t] = np.log(probs)
            return out

    total = dataset_loss(FixedModel(), [list(s) for s in sequences])
    widget, key = quiz["q3_4"]
    assert float(widget.options[key]) == pytest.approx(total) == pytest.approx(16.0)


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
