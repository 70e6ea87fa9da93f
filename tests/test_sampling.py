"""Sampling: greedy, temperature, top-k, top-p, drawing tokens, and the generation loop with the
n-gram model and with a transformer (with and without its key/value cache)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.losses import softmax
from course_lib.ngram import NGramModel
from course_lib.sampling import (
    apply_temperature,
    generate,
    generate_text,
    greedy,
    next_token_distribution,
    sample_next,
    top_k_filter,
    top_p_filter,
)
from course_lib.tokenizers import CharTokenizer
from course_lib.transformer import Transformer, TransformerConfig

distinct_logits = st.builds(
    lambda V, seed: np.random.default_rng(seed).permutation(V) * 0.7
    + np.random.default_rng(seed + 1).uniform(0, 0.1, V),
    st.integers(1, 12),
    st.integers(0, 2**31),
)


def test_greedy_takes_the_argmax_and_the_lowest_id_on_ties():
    assert greedy(np.array([0.1, 2.0, -1.0])) == 1
    assert greedy(np.array([3.0, 1.0, 3.0])) == 0
    assert isinstance(greedy(np.array([0.0, 1.0], dtype=np.float32)), int)
    assert sample_next(np.array([0.1, 2.0, -1.0]), np.random.default_rng(0), temperature=0) == 1


@settings(max_examples=50, deadline=None)
@given(logits=distinct_logits, data=st.data())
def test_top_k_keeps_exactly_the_k_largest(logits, data):
    k = data.draw(st.integers(1, len(logits)))
    filtered = top_k_filter(logits, k)
    kept = np.isfinite(filtered)
    assert kept.sum() == k
    np.testing.assert_array_equal(filtered[kept], logits[kept])
    assert set(np.flatnonzero(kept)) == set(np.argsort(logits)[-k:])


def test_top_k_keeps_ties_at_the_kth_value():
    filtered = top_k_filter(np.array([1.0, 3.0, 2.0, 2.0, 0.0]), 2)
    np.testing.assert_array_equal(np.isfinite(filtered), [False, True, True, True, False])


@settings(max_examples=50, deadline=None)
@given(logits=distinct_logits, p=st.floats(0.01, 1.0))
def test_top_p_keeps_the_minimal_nucleus(logits, p):
    probs = softmax(logits)
    kept = np.isfinite(top_p_filter(logits, p))
    assert kept.any()
    assert probs[kept].sum() >= p - 1e-9  # enough mass...
    assert probs[kept].sum() - probs[kept].min() < p + 1e-9  # ...and no token to spare
    if not kept.all():
        assert probs[kept].min() > probs[~kept].max()  # the most likely tokens


def test_top_p_on_a_hand_example():
    logits = np.log(np.array([0.1, 0.5, 0.15, 0.25]))
    np.testing.assert_array_equal(np.isfinite(top_p_filter(logits, 0.5)), [0, 1, 0, 0])
    np.testing.assert_array_equal(np.isfinite(top_p_filter(logits, 0.75)), [0, 1, 0, 1])
    np.testing.assert_array_equal(np.isfinite(top_p_filter(logits, 0.76)), [0, 1, 1, 1])
    np.testing.assert_array_equal(np.isfinite(top_p_filter(logits, 1.0)), [1, 1, 1, 1])


@pytest.mark.parametrize("temperature", [0.25, 1.0, 3.0])
def test_temperature_gives_p_to_the_power_one_over_t(temperature):
    probs = np.array([0.6, 0.3, 0.1])
    expected = probs ** (1 / temperature) / np.sum(probs ** (1 / temperature))
    got = next_token_distribution(np.log(probs), temperature=temperature)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(apply_temperature(np.log(probs), temperature),
                               np.log(probs) / temperature)  # fmt: skip


def test_filters_combine_in_next_token_distribution():
    logits = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    np.testing.assert_allclose(next_token_distribution(logits, top_k=2), [4 / 7, 3 / 7, 0, 0])
    np.testing.assert_allclose(next_token_distribution(logits, top_p=0.6), [4 / 7, 3 / 7, 0, 0])
    np.testing.assert_allclose(next_token_distribution(logits, top_k=3, top_p=0.1), [1, 0, 0, 0])


def test_sample_next_frequencies_match_the_distribution():
    rng = np.random.default_rng(0)
    logits = np.array([1.0, 0.2, 2.0, -0.5, 0.7, -3.0])
    settings_ = {"temperature": 0.8, "top_k": 5, "top_p": 0.95}
    expected = next_token_distribution(logits, **settings_)
    n = 20_000
    counts = np.bincount([sample_next(logits, rng, **settings_) for _ in range(n)], minlength=6)
    np.testing.assert_allclose(counts / n, expected, atol=0.015)
    assert counts[expected == 0].sum() == 0  # filtered tokens are never drawn


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda z: top_k_filter(z, 0), "k must be an integer"),
        (lambda z: top_k_filter(z, 5), "k must be an integer"),
        (lambda z: top_k_filter(z, 2.0), "k must be an integer"),
        (lambda z: top_k_filter(z, True), "k must be an integer"),
        (lambda z: top_p_filter(z, 0.0), "p must be in"),
        (lambda z: top_p_filter(z, 1.5), "p must be in"),
        (lambda z: top_p_filter(z, float("nan")), "p must be in"),
        (lambda z: apply_temperature(z, 0.0), "temperature must be > 0"),
        (lambda z: apply_temperature(z, -1.0), "temperature must be > 0"),
        (lambda z: sample_next(z, np.random.default_rng(0), temperature=-0.5), "temperature"),
        (lambda z: sample_next(z, np.random.default_rng(0), top_k=9), "k must be"),
        (lambda z: sample_next(z, np.random.default_rng(0), temperature=0, top_k=0), "k must be"),
        (lambda z: sample_next(z, np.random.default_rng(0), temperature=0, top_p=2), "p must be"),
        (lambda z: sample_next(z, np.random.default_rng(0), temperature=np.nan), "0 \\(greedy\\)"),
        (lambda z: greedy(z[None]), "shape \\(V,\\)"),
        (lambda z: greedy(z[:0]), "shape \\(V,\\)"),
    ],
)
def test_bad_sampling_settings_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.array([0.5, 0.1, 0.3, 0.2]))


# ----------------------------------------------------------------------- the generation loop


@pytest.fixture(scope="module")
def chain():
    """A bigram model that walks 0 -> 1 -> 2 -> 3 -> 4 -> 0 deterministically (greedy)."""
    return NGramModel(vocab_size=5, n=2, smoothing=0.0).fit([[0, 1, 2, 3, 4, 0]])


def test_generate_stops_at_a_stop_id_and_yields_it_last(chain):
    assert list(generate(chain, [0], 10, temperature=0, stop_ids=[3])) == [1, 2, 3]
    assert list(generate(chain, [0], 10, temperature=0, stop_ids=(4, 2))) == [1, 2]


def test_generate_stops_at_the_limit(chain):
    assert list(generate(chain, [0], 7, temperature=0)) == [1, 2, 3, 4, 0, 1, 2]
    assert list(generate(chain, [0], 2, temperature=0, stop_ids=[4])) == [1, 2]
    assert list(generate(chain, [0], 0)) == []


def test_generate_streams_from_an_ngram_model():
    rng = np.random.default_rng(1)
    model = NGramModel(vocab_size=8, n=3, smoothing=0.1).fit([rng.integers(0, 8, 200)])
    prompt = [3, 1, 4]
    ids = list(generate(model, prompt, 15, temperature=0))
    context = list(prompt)
    for _ in range(15):  # the same loop by hand
        context.append(int(np.argmax(model.next_token_probs(context))))
    assert ids == context[len(prompt) :]
    sampled = list(generate(model, prompt, 30, rng=np.random.default_rng(2), use_cache=True))
    assert len(sampled) == 30 and all(0 <= t < 8 for t in sampled)


def test_the_same_seed_gives_the_same_sequence():
    model = NGramModel(vocab_size=8, n=2, smoothing=1.0).fit([[0, 1, 2, 3, 4, 5, 6, 7]])

    def run(seed):
        return list(generate(model, [0], 40, rng=np.random.default_rng(seed), top_p=0.9))

    assert run(3) == run(3)
    assert run(3) != run(4)
    assert list(generate(model, [0], 40)) == list(generate(model, [0], 40))  # default rng


def test_generate_rejects_bad_arguments_when_called(chain):
    with pytest.raises(ValueError, match="prompt is empty"):
        generate(chain, [], 3)  # raises at the call, before any token is asked for
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(chain, [0], -1)
    with pytest.raises(ValueError, match="temperature"):
        generate(chain, [0], 3, temperature=-1.0)
    with pytest.raises(ValueError, match="p must be"):
        list(generate(chain, [0], 3, top_p=2.0))


@pytest.fixture(scope="module")
def tiny_transformer():
    config = TransformerConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    return Transformer(config, seed=3).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("prompt", [[1, 2, 3], list(range(11))])  # the second is > block_size
def test_cached_and_uncached_greedy_generation_agree_past_block_size(tiny_transformer, prompt,
                                                                     dtype):  # fmt: skip
    model = tiny_transformer.astype(dtype)
    cached = list(generate(model, prompt, 20, temperature=0, use_cache=True))
    uncached = list(generate(model, prompt, 20, temperature=0, use_cache=False))
    assert cached == uncached
    context = list(prompt)
    for _ in range(20):  # by hand: the context slides over the last block_size tokens
        context.append(int(np.argmax(model.logits(np.array(context[-model.block_size :]))[-1])))
    assert cached == context[len(prompt) :]


def test_cached_and_uncached_sampling_agree_with_the_same_seed(tiny_transformer):
    runs = [
        list(generate(tiny_transformer, [4], 20, rng=np.random.default_rng(7), use_cache=c))
        for c in (True, False)
    ]
    assert runs[0] == runs[1]


def test_generate_text_returns_only_the_new_text():
    tokenizer = CharTokenizer.train("hello world, the cat sat on the mat")
    config = TransformerConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1,
                               n_head=2, n_embd=16)  # fmt: skip
    model = Transformer(config, seed=0)
    prompt = "the cat"
    ids = list(generate(model, tokenizer.encode(prompt), 12, rng=np.random.default_rng(5),
                        stop_ids=[tokenizer.eos_id]))  # fmt: skip
    if ids and ids[-1] == tokenizer.eos_id:
        ids.pop()
    text = generate_text(model, tokenizer, prompt, 12, rng=np.random.default_rng(5))
    assert text == tokenizer.decode(ids)


def test_generate_text_drops_a_final_eos():
    tokenizer = CharTokenizer.train("ab")
    a, b = tokenizer.encode("ab")
    sequences = [[a, b, tokenizer.eos_id]]
    model = NGramModel(tokenizer.vocab_size, n=2, smoothing=0.0).fit(sequences)
    assert generate_text(model, tokenizer, "a", 10, temperature=0) == "b"
    with_eos = generate_text(model, tokenizer, "a", 10, temperature=0, stop_at_eos=False)
    assert with_eos.startswith("b<|eos|>")
    assert generate_text(model, tokenizer, "a", 10, temperature=0, stop_ids=[b]) == "b"
    assert generate_text(model, tokenizer, "a", 1, temperature=0, stop_at_eos=False) == "b"
