"""Pre-training windows, fine-tuning examples and batches, and the response-only loss mask."""

import numpy as np
import pytest

from course_lib.corpus import qa_pairs
from course_lib.data import encode_sft_example, random_windows, sft_batch
from course_lib.losses import cross_entropy, cross_entropy_grad
from course_lib.tokenizers import BPETokenizer


@pytest.fixture(scope="module")
def tokenizer():
    text = " ".join(q + " " + a for q, a in qa_pairs()[:200])
    return BPETokenizer.train(text, vocab_size=300)


def test_windows_are_slices_of_the_stream_shifted_by_one():
    tokens = np.arange(50) + 100  # token i of the stream is 100 + i
    x, y = random_windows(tokens, batch_size=16, block_size=6, rng=np.random.default_rng(0))
    assert x.shape == y.shape == (16, 6)
    starts = x[:, 0] - 100
    np.testing.assert_array_equal(x, tokens[starts[:, None] + np.arange(6)])
    np.testing.assert_array_equal(y, tokens[starts[:, None] + np.arange(1, 7)])
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])


def test_windows_reach_both_ends_of_the_stream():
    tokens = np.arange(10)
    x, y = random_windows(tokens, batch_size=400, block_size=4, rng=np.random.default_rng(1))
    assert x[:, 0].min() == 0 and y[:, -1].max() == 9  # the first and last tokens are used
    x, y = random_windows(tokens, 3, 9, np.random.default_rng(2))  # exactly one window fits
    np.testing.assert_array_equal(x, np.tile(np.arange(9), (3, 1)))
    np.testing.assert_array_equal(y, np.tile(np.arange(1, 10), (3, 1)))


def test_windows_repeat_with_the_same_seed():
    tokens = np.arange(1000)
    a = random_windows(tokens, 4, 8, np.random.default_rng(3))
    b = random_windows(tokens, 4, 8, np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize(
    "tokens, batch_size, block_size, message",
    [
        (np.arange(8), 2, 8, "needs block_size \\+ 1 = 9 tokens, the stream has 8"),
        (np.arange(0), 1, 1, "the stream has 0"),
        (np.arange(8).reshape(2, 4), 1, 2, "1-D"),
        (np.arange(8), 0, 4, "must be positive"),
        (np.arange(8), 2, 0, "must be positive"),
    ],
)
def test_bad_window_requests_raise(tokens, batch_size, block_size, message):
    with pytest.raises(ValueError, match=message):
        random_windows(tokens, batch_size, block_size, np.random.default_rng(0))


def test_windows_of_non_integer_tokens_raise_a_type_error():
    with pytest.raises(TypeError, match="integer token ids"):
        random_windows(np.arange(8.0), 2, 4, np.random.default_rng(0))


def test_sft_example_masks_exactly_the_response_and_eos(tokenizer):
    instruction, response = "What is the capital of France?", "The capital of France is Paris."
    ids, mask = encode_sft_example(tokenizer, instruction, response)
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    np.testing.assert_array_equal(ids, prompt + answer)
    np.testing.assert_array_equal(mask, [0] * len(prompt) + [1] * len(answer))
    assert ids.shape == mask.shape and ids.dtype.kind == "i"
    assert tokenizer.decode(ids[mask == 1]) == response + "<|eos|>"
    assert tokenizer.decode(ids[mask == 0]) == f"<|instruction|>{instruction}<|response|>"
    assert tokenizer.decode(ids) == f"<|instruction|>{instruction}<|response|>{response}<|eos|>"


def test_sft_example_rejects_bad_text(tokenizer):
    with pytest.raises(ValueError, match="response non-empty"):
        encode_sft_example(tokenizer, "Hi?", "")
    with pytest.raises(ValueError, match="must be strings"):
        encode_sft_example(tokenizer, ["Hi?"], "Hello.")


def test_sft_batch_shifts_pads_and_masks_padding(tokenizer):
    pairs = qa_pairs()[:3]
    examples = [encode_sft_example(tokenizer, q, a) for q, a in pairs]
    x, y, mask = sft_batch(examples, pad_id=tokenizer.pad_id)
    longest = max(len(ids) for ids, _ in examples)
    assert x.shape == y.shape == mask.shape == (3, longest - 1)
    for row, (ids, loss_mask) in enumerate(examples):
        n = len(ids)
        np.testing.assert_array_equal(x[row, : n - 1], ids[:-1])
        np.testing.assert_array_equal(y[row, : n - 1], ids[1:])
        np.testing.assert_array_equal(mask[row, : n - 1], loss_mask[1:])  # mask of the targets
        assert np.all(x[row, n:] == tokenizer.pad_id)  # x[row, n - 1] is the eos, fed in
        assert np.all(y[row, n - 1 :] == tokenizer.pad_id)
        assert np.all(mask[row, n - 1 :] == 0)  # padding is never predicted
        assert mask[row].sum() == len(tokenizer.encode(pairs[row][1])) + 1  # answer + eos


def test_sft_batch_rejects_bad_examples():
    with pytest.raises(ValueError, match="at least one example"):
        sft_batch([], pad_id=0)
    with pytest.raises(ValueError, match="equal length >= 2"):
        sft_batch([(np.array([1, 2, 3]), np.array([0, 1]))], pad_id=0)
    with pytest.raises(ValueError, match="equal length >= 2"):
        sft_batch([(np.array([1]), np.array([1]))], pad_id=0)


def test_prompt_positions_are_out_of_the_objective(tokenizer):
    examples = [encode_sft_example(tokenizer, q, a) for q, a in qa_pairs()[3:6]]
    x, y, mask = sft_batch(examples, pad_id=tokenizer.pad_id)
    rng = np.random.default_rng(4)
    V = tokenizer.vocab_size
    logits = rng.normal(size=(*y.shape, V))
    out = mask == 0  # prompt and padding positions
    assert out.any() and (~out).any()

    loss = cross_entropy(logits, y, mask)
    other_targets = np.where(out, rng.integers(0, V, size=y.shape), y)
    other_logits = np.where(out[..., None], rng.normal(scale=5.0, size=logits.shape), logits)
    assert cross_entropy(logits, other_targets, mask) == loss
    assert cross_entropy(other_logits, y, mask) == loss
    assert cross_entropy(logits, y) != loss  # without the mask the prompt would count

    grad = cross_entropy_grad(logits, y, mask)
    assert np.all(grad[out] == 0)
    assert np.all(np.abs(grad[~out]).sum(axis=-1) > 0)
    np.testing.assert_array_equal(grad, cross_entropy_grad(other_logits, other_targets, mask))
