"""Chapter 1 (Base models): each exercise rejects its typical wrong answers; each quiz key holds.

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

CHAPTER = "ch1_base_models"  # read by the fixtures in conftest.py

# Typical wrong answers, written as learners write them: {solution grade_id: {name: code}}.
WRONG = {
    "ex1_1_make_pairs": {
        "returns lists of rows, not numpy arrays": """
def make_pairs(tokens, context_length):
    tokens = list(tokens)
    n = len(tokens) - context_length
    return ([tokens[i:i + context_length] for i in range(n)],
            [tokens[i + 1:i + context_length + 1] for i in range(n)])
""",
        "no shift: the targets are the inputs": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    rows = [tokens[i:i + context_length] for i in range(len(tokens) - context_length)]
    return np.array(rows), np.array(rows)
""",
        "shifted the wrong way": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length
    inputs = np.array([tokens[i + 1:i + 1 + context_length] for i in range(n)])
    targets = np.array([tokens[i:i + context_length] for i in range(n)])
    return inputs, targets
""",
        "off-by-one: the last window is missing": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length - 1
    inputs = np.array([tokens[i:i + context_length] for i in range(n)])
    targets = np.array([tokens[i + 1:i + 1 + context_length] for i in range(n)])
    return inputs, targets
""",
        "non-overlapping windows (stride L)": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    starts = range(0, len(tokens) - context_length, context_length)
    inputs = np.array([tokens[i:i + context_length] for i in starts])
    targets = np.array([tokens[i + 1:i + 1 + context_length] for i in starts])
    return inputs, targets
""",
    },
    "ex1_2_bigram_probs": {
        "no smoothing": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    return counts / counts.sum(axis=1, keepdims=True)
""",
        "normalises over the wrong axis": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    return (counts + k) / (counts + k).sum(axis=0, keepdims=True)
""",
        "counts (next, prev) reversed": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[b, a] += 1
    return (counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)
""",
        "counts[a, b] += 1 with index arrays (repeated pairs counted once)": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens)
    counts = np.zeros((vocab_size, vocab_size))
    counts[tokens[:-1], tokens[1:]] += 1
    return (counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)
""",
        "returns a list of lists": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens, dtype=np.int64)
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (tokens[:-1], tokens[1:]), 1)
    return ((counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)).tolist()
""",
        "divides by the token's count, not its count as a context": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens)
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    unigram = np.bincount(tokens, minlength=vocab_size)
    return (counts + k) / (unigram[:, None] + k * vocab_size)
""",
    },
}


MESSAGES = {
    ("ex1_1_make_pairs", "returns lists of rows, not numpy arrays"): "must be numpy arrays",
    ("ex1_2_bigram_probs", "counts[a, b] += 1 with index arrays (repeated pairs counted once)"):
        "numpy does not accumulate repeated indices",
    ("ex1_2_bigram_probs", "returns a list of lists"): "return a numpy array",
}


class TestGrading(harness.ChapterGradingTests):
    """Reference answers get full marks; each typical wrong answer scores 0 (chapter_harness)."""

    chapter = CHAPTER
    wrong = WRONG
    written = {"analysis_1_7_instructions": 3}
    written_answer = "The corpus never shows a question followed by its answer."
    n_questions = 7

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])


# ------------------------------------------------------------------ multiple-choice answer keys


def test_q1_1_the_base_model_objective_is_next_token_prediction(quiz):
    from course_lib.data import random_windows

    widget, key = quiz["q1_1"]
    assert key == "C" and "next token" in widget.options[key]
    # the objective needs no labels beyond the text: every position's target is in the stream
    tokens = np.random.default_rng(0).integers(0, 50, size=40)
    x, y = random_windows(tokens, 3, 8, np.random.default_rng(1))
    assert np.array_equal(x[:, 1:], y[:, :-1])


def test_q1_2_bpe_gives_shorter_sequences_and_a_larger_vocabulary(quiz):
    from course_lib.corpus import default_corpus
    from course_lib.pretrained import TOKENIZER_PATH
    from course_lib.tokenizers import CharTokenizer, load_tokenizer

    bpe = load_tokenizer(TOKENIZER_PATH)
    text = default_corpus()[:20_000]
    chars = CharTokenizer.train(text)
    assert len(bpe.encode(text)) < len(chars.encode(text)) / 2  # A: shorter sequences
    assert bpe.vocab_size > chars.vocab_size  # ... at the cost of a larger vocabulary (not B)
    unseen = " Zanzibar café"
    assert bpe.decode(bpe.encode(unseen)) == unseen  # not C: anything can be encoded
    assert len(bpe.encode(" Zanzibar")) > 1  # not D: a rare word takes several tokens
    assert quiz["q1_2"][1] == "A"


def test_q1_3_the_targets_are_the_next_tokens_of_the_text(quiz):
    from course_lib.data import random_windows

    tokens = np.arange(100, 160)
    x, y = random_windows(tokens, 4, 10, np.random.default_rng(2))
    assert np.array_equal(y, x + 1)  # the token after each input token, from the same stream
    assert quiz["q1_3"][1] == "B"


def test_q1_4_annotator_years_for_two_trillion_tokens(quiz):
    tokens, hours_per_year = 2e12, 2000
    computed = {
        "A": tokens / 3600 / (24 * 365),  # a year worked around the clock
        "B": tokens / 3600 / hours_per_year,  # the right estimate
        "C": tokens / 60 / hours_per_year,  # seconds to hours by dividing by 60
        "D": tokens / hours_per_year,  # no conversion from seconds
    }
    widget, key = quiz["q1_4"]
    words = {"million": 1e6, "billion": 1e9}
    for letter, value in computed.items():
        text = widget.options[letter].removeprefix("About ")
        number, _, unit = text.partition(" ")
        shown = float(number.replace(",", "")) * words.get(unit, 1)
        assert math.isclose(shown, value, rel_tol=0.05), (letter, shown, value)
    assert key == "B"


def test_q1_5_fine_tuning_keeps_the_next_token_objective(quiz):
    from course_lib.data import encode_sft_example, sft_batch
    from course_lib.losses import cross_entropy, token_losses
    from course_lib.tokenizers import CharTokenizer
    from course_lib.transformer import Transformer, TransformerConfig

    tokenizer = CharTokenizer.train("what is two plus two? four.")
    model = Transformer(
        TransformerConfig(
            vocab_size=tokenizer.vocab_size, block_size=40, n_layer=1, n_head=2, n_embd=16
        ),
        seed=0,
    )
    x, y, mask = sft_batch(
        [encode_sft_example(tokenizer, "what is two plus two?", "four.")], pad_id=tokenizer.pad_id
    )
    logits = model.logits(x)
    fine_tuning_loss = cross_entropy(logits, y, mask=mask, reduction="sum")
    next_token_losses = token_losses(logits, y)  # the pre-training loss of each position
    assert math.isclose(
        float(fine_tuning_loss), float(next_token_losses[mask == 1].sum()), rel_tol=1e-5
    )
    assert quiz["q1_5"][1] == "False"


def test_q1_6_the_corpus_never_answers_its_questions(quiz):
    from course_lib.corpus import default_corpus, qa_pairs

    corpus = default_corpus()
    pairs = qa_pairs()
    assert sum(question in corpus for question, _ in pairs) > len(pairs) / 2  # they do occur
    assert not any(f"{question} {answer}" in corpus for question, answer in pairs)
    assert quiz["q1_6"][1] == "B"


def test_reference_solutions_agree_with_course_lib(answer_keys):
    """The demos fall back on course_lib (or numpy windows) when an exercise is unsolved."""
    from course_lib.data import random_windows
    from course_lib.ngram import NGramModel

    namespace = {"np": np}
    for grade_id in WRONG:
        exec(answer_keys[grade_id], namespace)  # noqa: S102 - the instructor's solutions
    rng = np.random.default_rng(7)
    tokens = rng.integers(0, 30, size=200)
    inputs, targets = namespace["make_pairs"](tokens, 16)
    windows = np.lib.stride_tricks.sliding_window_view(tokens, 17)
    assert np.array_equal(inputs, windows[:, :-1]) and np.array_equal(targets, windows[:, 1:])
    x, y = random_windows(tokens, 8, 16, rng)
    rows = {tuple(row) for row in np.concatenate([inputs, targets], axis=1)}
    assert all(tuple(row) in rows for row in np.concatenate([x, y], axis=1))

    table = namespace["bigram_probs"](tokens, 30, 0.2)
    model = NGramModel(30, n=2, smoothing=0.2).fit([tokens])
    assert np.allclose(table, np.exp(model.logits(np.arange(30))))


def test_q1_7_pretraining_takes_its_labels_from_the_text_then_fine_tuning(quiz):
    from course_lib.data import random_windows

    x, y = random_windows(np.arange(50), 4, 8, np.random.default_rng(0))
    assert np.array_equal(y, x + 1)  # the targets are the text shifted by one: no annotator
    widget, key = quiz["q1_7"]
    assert key == "A" and "Self-supervised" in widget.options[key]
    assert any("poem" in option for option in quiz["q1_1"][0].options.values())
