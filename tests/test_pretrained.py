"""The shipped base model: it loads offline, reproduces its recorded loss, and knows its facts."""

import numpy as np
import pytest

from course_lib.corpus import FACT_FAMILIES
from course_lib.pretrained import MODEL_PATH, load_base_model, validation_loss
from course_lib.sampling import generate_text
from course_lib.tokenizers import BPETokenizer
from course_lib.transformer import Transformer


@pytest.fixture(scope="module")
def base():
    return load_base_model()


def test_weights_are_small_enough_to_ship():
    assert MODEL_PATH.with_suffix(".npz").stat().st_size < 5 * 1024 * 1024


def test_loads_a_transformer_and_its_bpe_tokenizer(base):
    model, tokenizer = base
    assert isinstance(model, Transformer) and isinstance(tokenizer, BPETokenizer)
    assert model.vocab_size == tokenizer.vocab_size
    assert model.params["wte"].dtype == np.float32


def test_recorded_validation_loss_reproduces_within_one_percent(base):
    model, tokenizer = base
    recorded = model.metadata["validation_loss"]
    measured = validation_loss(model, tokenizer)
    assert measured == pytest.approx(recorded, rel=0.01)
    assert measured < 0.5 * np.log(model.vocab_size), "no better than a weak baseline"


def test_the_corpus_holds_no_special_token_string(base):
    """Pre-training and validation encode the corpus as ordinary text: with no special-token
    string in it, allowing them or not gives the same ids, so the shipped loss stays as recorded."""
    from course_lib.corpus import default_corpus
    from course_lib.tokenizers import SPECIAL_TOKENS

    corpus = default_corpus()
    assert not any(special in corpus for special in SPECIAL_TOKENS)
    _, tokenizer = base
    sample = corpus[:20_000]
    assert tokenizer.encode(sample) == tokenizer.encode(sample, allowed_special="all")


def test_completes_the_capital_of_france(base):
    model, tokenizer = base
    completion = generate_text(model, tokenizer, "The capital of France is", max_new_tokens=3,
                               temperature=0)
    assert completion.startswith(" Paris")


@pytest.mark.parametrize(
    "family",
    ["capitals", "colours", "animal sounds", "animal legs", "animal homes", "animal young",
     "addition", "subtraction"],
)
def test_knows_most_facts_of_each_family_by_greedy_decoding(base, family):
    model, tokenizer = base
    facts = FACT_FAMILIES[family]
    right = 0
    for prompt, completion in facts:
        context = tokenizer.encode(prompt)
        first_token = tokenizer.encode(prompt + completion)[len(context)]
        right += int(np.argmax(model.next_token_probs(context)) == first_token)
    assert right / len(facts) >= 0.9, f"{family}: {right}/{len(facts)} first tokens right"


def test_follows_no_instructions_it_was_never_taught(base):
    model, tokenizer = base
    completion = generate_text(model, tokenizer, "What is the capital of France?",
                               max_new_tokens=12, temperature=0)
    assert "Paris" not in completion.split(".")[0]
