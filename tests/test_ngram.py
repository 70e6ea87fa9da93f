"""NGramModel: counts, smoothed probabilities, the shared model interface, input errors."""

import numpy as np
import pytest

from course_lib.ngram import NGramModel

TEXT = [0, 1, 2, 0, 1, 0, 2]  # bigrams: 0-1 twice, 1-2, 2-0, 1-0, 0-2


def test_bigram_counts_on_a_hand_example():
    model = NGramModel(vocab_size=3, n=2, smoothing=0.0).fit(TEXT)
    expected = np.array([[0, 2, 1], [1, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(model.counts, expected)
    np.testing.assert_allclose(model.next_token_probs([0]), [0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(model.next_token_probs([2, 1]), [0.5, 0, 0.5])


def test_add_k_smoothing_gives_unseen_pairs_their_share():
    k, V = 0.5, 3
    model = NGramModel(vocab_size=V, n=2, smoothing=k).fit(TEXT)
    probs = model.next_token_probs([0])  # counts after 0: [0, 2, 1], total 3
    total = 3 + k * V
    np.testing.assert_allclose(probs, [k / total, (2 + k) / total, (1 + k) / total])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_smoothed_rows_sum_to_one_and_logits_shape(n):
    rng = np.random.default_rng(n)
    seqs = [rng.integers(0, 6, size=20) for _ in range(3)]
    model = NGramModel(vocab_size=6, n=n, smoothing=1.0).fit(seqs)
    ids = rng.integers(0, 6, size=(2, 9))
    logits = model.logits(ids)
    assert logits.shape == (2, 9, 6)
    np.testing.assert_allclose(np.exp(logits).sum(axis=-1), 1.0)
    assert model.logits(ids[0]).shape == (9, 6)
    np.testing.assert_allclose(model.logits(ids[0]), logits[0])
    assert model.block_size == max(1, n - 1)


def test_logits_match_next_token_probs_and_use_only_the_last_tokens():
    model = NGramModel(vocab_size=4, n=3, smoothing=0.1).fit([[0, 1, 2, 3, 0, 1, 3, 2, 1]])
    ids = np.array([3, 0, 1, 2, 2])
    logits = model.logits(ids)
    for t in range(len(ids)):
        np.testing.assert_allclose(np.exp(logits[t]), model.next_token_probs(ids[: t + 1]))
    np.testing.assert_allclose(model.next_token_probs([3, 3, 0, 1]), model.next_token_probs([0, 1]))


def test_trigram_counts_and_short_history_at_sequence_start():
    model = NGramModel(vocab_size=3, n=3, smoothing=0.0).fit([[0, 1, 2, 0, 1, 1]])
    assert model.counts.shape == (3, 3, 3)
    assert model.counts[0, 1, 2] == 1 and model.counts[0, 1, 1] == 1
    # position 0 has one token of history: the bigram estimate p(. | 0) = [0, 1, 0]
    np.testing.assert_allclose(np.exp(model.logits([0])[0]), [0, 1, 0])


def test_unsmoothed_model_gives_minus_inf_to_unseen_pairs():
    model = NGramModel(vocab_size=3, smoothing=0.0).fit(TEXT)
    assert model.logits([2])[0, 1] == -np.inf


def test_sequences_do_not_cross_and_refit_resets():
    model = NGramModel(vocab_size=3).fit([[0, 1], [2, 0]])
    assert model.counts[1, 2] == 0 and model.counts.sum() == 2
    model.fit([[2, 2]])
    assert model.counts.sum() == 1


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        NGramModel(vocab_size=3).logits([0])
    model = NGramModel(vocab_size=3).fit(TEXT)
    with pytest.raises(ValueError, match="out of range"):
        model.logits([0, 3])
    with pytest.raises(ValueError, match="out of range"):
        NGramModel(vocab_size=3).fit([[0, -1]])
    with pytest.raises(ValueError, match="at least one token"):
        model.next_token_probs([])
    with pytest.raises(ValueError, match="at least one sequence"):
        NGramModel(vocab_size=3).fit([])
    with pytest.raises(TypeError, match="integers"):
        model.logits(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="dimensions"):
        model.logits(np.zeros((1, 1, 1), dtype=int))
    with pytest.raises(ValueError, match="smoothing"):
        NGramModel(vocab_size=3, smoothing=-1)
    with pytest.raises(ValueError, match="positive int"):
        NGramModel(vocab_size=0)
    with pytest.raises(ValueError, match="smaller n"):
        NGramModel(vocab_size=1000, n=3)
