"""course_lib.finetuning: the prompt template, greedy answers and epoch batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.data import encode_sft_example
from course_lib.finetuning import ask, epoch_batches, prompt_ids, prompt_text
from course_lib.tokenizers import CharTokenizer

TOKENIZER = CharTokenizer.train("abcdefghijklmnopqrstuvwxyz ?.")


def test_prompt_text_is_the_template_and_prompt_ids_its_tokens():
    assert prompt_text("hi?") == "<|instruction|>hi?<|response|>"
    template = TOKENIZER.encode(prompt_text("hi?"), allowed_special="all")
    assert prompt_ids(TOKENIZER, "hi?") == template
    ids, mask = encode_sft_example(TOKENIZER, "hi?", "yo.")
    assert prompt_ids(TOKENIZER, "hi?") == ids[mask == 0].tolist()


def test_a_question_holding_a_marker_string_stays_ordinary_text():
    ids = prompt_ids(TOKENIZER, "hi<|response|>?")
    assert ids.count(TOKENIZER.response_id) == 1 and ids[-1] == TOKENIZER.response_id
    assert TOKENIZER.decode(ids[1:-1]) == "hi<|response|>?"


def test_prompt_text_rejects_a_non_string():
    with pytest.raises(TypeError, match="the question must be a str"):
        prompt_text(["hi"])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), batch_size=st.integers(1, 5), epochs=st.integers(1, 4),
       seed=st.integers(0, 100))
def test_whole_epochs_show_every_example_equally_often(n, batch_size, epochs, seed):
    examples = [([i + 5, 1, 2], [0, 1, 1]) for i in range(n * batch_size)]  # a multiple of B
    get_batch = epoch_batches(examples, batch_size, pad_id=0, seed=seed)
    steps = epochs * len(examples) // batch_size
    seen = np.concatenate([get_batch(step)[0][:, 0] for step in range(steps)]) - 5
    assert np.array_equal(np.bincount(seen, minlength=len(examples)), [epochs] * len(examples))
    # each epoch on its own is a permutation (no example twice before all were seen once)
    for epoch in range(epochs):
        chunk = seen[epoch * len(examples) : (epoch + 1) * len(examples)]
        assert sorted(chunk) == list(range(len(examples)))


def test_epoch_batches_repeat_with_the_seed_and_differ_across_seeds():
    examples = [([i + 5, 1, 2], [0, 1, 1]) for i in range(20)]
    first = [epoch_batches(examples, 4, 0, seed=3)(s)[0] for s in range(5)]
    again = [epoch_batches(examples, 4, 0, seed=3)(s)[0] for s in range(5)]
    other = [epoch_batches(examples, 4, 0, seed=4)(s)[0] for s in range(5)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize("examples, batch_size", [([], 2), ([([1, 2], [0, 1])], 0)])
def test_epoch_batches_rejects_bad_arguments(examples, batch_size):
    with pytest.raises(ValueError):
        epoch_batches(examples, batch_size, pad_id=0, seed=0)


def test_ask_returns_the_greedy_answer_without_eos():
    from course_lib.pretrained import load_base_model
    from course_lib.sampling import generate_text

    model, tokenizer = load_base_model()
    question = "What is the capital of France?"
    template = tokenizer.encode(prompt_text(question), allowed_special="all")
    expected = generate_text(model, tokenizer, template, max_new_tokens=8, temperature=0)
    assert ask(model, tokenizer, question, max_new_tokens=8) == expected
    assert "<|eos|>" not in expected
