"""Batches for training: random windows of text for pre-training, masked pairs for fine-tuning.

Pre-training: the targets are the inputs shifted by one token, so the text labels itself.
Fine-tuning: an example is  <|instruction|> question <|response|> answer <|eos|>  and only the
answer's tokens (and the final <|eos|>) are predicted in the loss.

>>> tokens = np.arange(10)
>>> x, y = random_windows(tokens, batch_size=1, block_size=4, rng=np.random.default_rng(0))
>>> bool(np.all(y == x + 1))
True
"""

from __future__ import annotations

import numpy as np

from .checks import check_sequence


def random_windows(tokens, batch_size: int, block_size: int, rng: np.random.Generator):
    """batch_size random windows of a token stream: x (B, T) and y (B, T), y[:, t] = x[:, t + 1].

    T is block_size; the stream needs at least block_size + 1 tokens.

    >>> x, y = random_windows(np.arange(5), 2, 4, np.random.default_rng(0))  # one window fits
    >>> x[0], y[0]
    (array([0, 1, 2, 3]), array([1, 2, 3, 4]))
    """
    tokens = check_sequence(tokens, None, "tokens", allow_empty=True)
    if batch_size <= 0 or block_size <= 0:
        raise ValueError(
            f"batch_size and block_size must be positive, got {batch_size}, {block_size}"
        )
    if len(tokens) < block_size + 1:
        raise ValueError(
            f"a window needs block_size + 1 = {block_size + 1} tokens, the stream has {len(tokens)}"
        )
    starts = rng.integers(0, len(tokens) - block_size, size=batch_size)
    window = starts[:, None] + np.arange(block_size + 1)
    chunks = tokens[window]
    return chunks[:, :-1], chunks[:, 1:]


def encode_sft_example(tokenizer, instruction: str, response: str):
    """Token ids of one fine-tuning example and its loss mask, both (T,).

    loss_mask[i] == 1 exactly when token i is predicted in the loss: the response's tokens and the
    final <|eos|>. The instruction and the two markers are context only.

    >>> from course_lib.tokenizers import CharTokenizer
    >>> tokenizer = CharTokenizer.train("hi yo")
    >>> ids, loss_mask = encode_sft_example(tokenizer, "hi", "yo")
    >>> tokenizer.token_strings(ids)
    ['<|instruction|>', 'h', 'i', '<|response|>', 'y', 'o', '<|eos|>']
    >>> loss_mask
    array([0, 0, 0, 0, 1, 1, 1])
    """
    if not isinstance(instruction, str) or not isinstance(response, str) or not response:
        raise ValueError("instruction and response must be strings, and the response non-empty")
    prompt = [tokenizer.instruction_id, *tokenizer.encode(instruction), tokenizer.response_id]
    answer = [*tokenizer.encode(response), tokenizer.eos_id]
    ids = np.array(prompt + answer, dtype=np.int64)
    loss_mask = np.array([0] * len(prompt) + [1] * len(answer), dtype=np.int64)
    return ids, loss_mask


def sft_batch(examples, pad_id: int):
    """Right-pad (ids, loss_mask) examples into x, y, mask, each (B, T_max - 1).

    x holds the inputs, y the next tokens, mask the loss mask of the targets (0 on padding and on
    the prompt).

    >>> x, y, mask = sft_batch([([5, 6, 7], [0, 1, 1]), ([5, 6], [0, 1])], pad_id=0)
    >>> y, mask                                         # row 2 is padded with 0, masked out
    (array([[6, 7],
           [6, 0]]), array([[1, 1],
           [1, 0]]))
    """
    examples = list(examples)
    if not examples:
        raise ValueError("sft_batch needs at least one example")
    for ids, loss_mask in examples:
        if len(ids) != len(loss_mask) or len(ids) < 2:
            raise ValueError(
                f"each example needs ids and a loss mask of equal length >= 2, got "
                f"{len(ids)} and {len(loss_mask)}"
            )
    length = max(len(ids) for ids, _ in examples)
    ids = np.full((len(examples), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(examples), length), dtype=np.int64)
    for row, (example_ids, loss_mask) in enumerate(examples):
        ids[row, : len(example_ids)] = example_ids
        mask[row, : len(loss_mask)] = loss_mask
    return ids[:, :-1], ids[:, 1:], mask[:, 1:]
