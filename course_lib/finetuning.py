"""Fine-tuning helpers the chapters share: the prompt template, greedy answers, epoch batches.

A question is put to a fine-tuned model in the template it was trained on,

    <|instruction|> question <|response|>

and the model writes the response up to <|eos|>. Training walks through the examples in epochs:
every epoch is a fresh shuffled order, cut into batches.

Example:

>>> from course_lib.tokenizers import CharTokenizer
>>> tokenizer = CharTokenizer.train("ab ?")
>>> tokenizer.token_strings(prompt_ids(tokenizer, "ab?"))
['<|instruction|>', 'a', 'b', '?', '<|response|>']
>>> get_batch = epoch_batches([([3, 5, 6], [0, 1, 1])] * 4, batch_size=2, pad_id=0, seed=0)
>>> [x.shape for x, _, _ in (get_batch(0), get_batch(1))]
[(2, 2), (2, 2)]
"""

from __future__ import annotations

import numpy as np

from .checks import check_type
from .data import sft_batch
from .sampling import generate_text


def prompt_text(question: str) -> str:
    """The prompt of the fine-tuning template: '<|instruction|>' question '<|response|>'.

    >>> prompt_text("Hi?")
    '<|instruction|>Hi?<|response|>'
    """
    check_type(question, str, "the question")
    return f"<|instruction|>{question}<|response|>"


def prompt_ids(tokenizer, question: str) -> list[int]:
    """Token ids of prompt_text(question): the markers are one special token each, and the
    question is ordinary text (a special-token string in it stays characters)."""
    return [tokenizer.instruction_id, *tokenizer.encode(question), tokenizer.response_id]


def ask(model, tokenizer, question: str, max_new_tokens: int = 20) -> str:
    """The model's greedy answer to `question` in the template, without the final <|eos|>.

    The markers are special tokens and the question is ordinary text, whatever it holds.
    """
    return generate_text(model, tokenizer, prompt_ids(tokenizer, question),
                         max_new_tokens=max_new_tokens, temperature=0)  # fmt: skip


def epoch_batches(examples, batch_size: int, pad_id: int, seed: int):
    """get_batch(step) for training.train: (x, y, mask) batches of `examples`, epoch after epoch.

    examples: (ids, loss_mask) pairs, as course_lib.data.encode_sft_example makes them. Each epoch
    is a new random order of all examples (numpy Generator seeded with `seed`, so runs repeat);
    step s takes the examples at places s * batch_size ... (s + 1) * batch_size - 1 of that endless
    sequence of epochs. When len(examples) is a multiple of batch_size, k epochs are
    k * len(examples) // batch_size steps and show every example exactly k times.

    >>> examples = [([i, 1, 2], [0, 1, 1]) for i in range(6)]
    >>> get_batch = epoch_batches(examples, batch_size=3, pad_id=0, seed=0)
    >>> sorted(int(x[0]) for step in (0, 1) for x in get_batch(step)[0])  # epoch 1: each once
    [0, 1, 2, 3, 4, 5]
    """
    examples = list(examples)
    if not examples:
        raise ValueError("epoch_batches needs at least one example")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    rng, order = np.random.default_rng(seed), []

    def get_batch(step: int):
        while len(order) < (step + 1) * batch_size:
            order.extend(rng.permutation(len(examples)).tolist())
        chosen = order[step * batch_size : (step + 1) * batch_size]
        return sft_batch([examples[i] for i in chosen], pad_id)

    return get_batch
