"""The training loop: a short pre-training run, evaluation, the loss history and its plot, and
fine-tuning steps with the response-only mask."""

import matplotlib
import numpy as np
import pytest

from course_lib.corpus import default_corpus, qa_pairs, train_val_split
from course_lib.data import encode_sft_example, random_windows, sft_batch
from course_lib.losses import log_softmax
from course_lib.ngram import NGramModel
from course_lib.optim import AdamW
from course_lib.tokenizers import BPETokenizer
from course_lib.training import LossHistory, evaluate, train, train_step
from course_lib.transformer import Transformer, TransformerConfig

matplotlib.use("Agg")

STEPS, EVAL_EVERY, BLOCK = 200, 50, 32


def tiny_model(vocab_size, seed=0, block_size=BLOCK):
    config = TransformerConfig(vocab_size=vocab_size, block_size=block_size, n_layer=2, n_head=4,
                               n_embd=64)  # fmt: skip
    return Transformer(config, seed=seed)


@pytest.fixture(scope="module")
def tokenizer():
    train_text, _ = train_val_split(default_corpus()[:300_000])
    return BPETokenizer.train(train_text[:50_000], vocab_size=320)


@pytest.fixture(scope="module")
def pretraining_run(tokenizer):
    train_text, val_text = train_val_split(default_corpus()[:300_000])
    train_ids = np.array(tokenizer.encode(train_text))
    val_ids = np.array(tokenizer.encode(val_text))
    val_batches = [random_windows(val_ids, 16, BLOCK, np.random.default_rng(i)) for i in range(4)]
    model = tiny_model(tokenizer.vocab_size)
    before = evaluate(model, val_batches)
    rng = np.random.default_rng(0)
    history = train(
        model, lambda step: random_windows(train_ids, 16, BLOCK, rng), STEPS, lr=3e-3,
        warmup_steps=10, eval_fn=lambda m: evaluate(m, val_batches), eval_every=EVAL_EVERY,
        progress=False,
    )  # fmt: skip
    return model, history, val_batches, before


def test_a_short_run_beats_the_uniform_baseline(pretraining_run, tokenizer):
    _, history, _, before = pretraining_run
    uniform = np.log(tokenizer.vocab_size)
    assert before == pytest.approx(uniform, abs=0.3)  # a fresh model guesses about uniformly
    assert history.eval_loss[-1] < 0.65 * uniform
    assert np.mean(history.train_loss[-20:]) < np.mean(history.train_loss[:20]) - 1.5


def test_loss_history_records_steps_and_evaluations(pretraining_run, tokenizer):
    _, history, _, _ = pretraining_run
    assert history.steps == list(range(STEPS))
    assert len(history.train_loss) == STEPS
    assert all(isinstance(loss, float) and np.isfinite(loss) for loss in history.train_loss)
    assert history.eval_steps == [49, 99, 149, 199]
    assert len(history.eval_loss) == 4 and history.eval_loss[-1] < history.eval_loss[0]
    assert history.vocab_size == tokenizer.vocab_size
    assert len(history.step_seconds) == STEPS and min(history.step_seconds) > 0
    assert history.median_step_seconds() == float(np.median(history.step_seconds))


def test_median_step_time_of_an_untrained_history_is_an_error():
    with pytest.raises(ValueError, match="no step was timed"):
        LossHistory().median_step_seconds()


def test_evaluation_after_the_last_step_even_off_the_schedule():
    model = tiny_model(12)
    batch = random_windows(np.arange(100) % 12, 2, 8, np.random.default_rng(0))
    history = train(model, lambda step: batch, 5, eval_fn=lambda m: 1.0, eval_every=3,
                    progress=False)  # fmt: skip
    assert history.eval_steps == [2, 4] and history.eval_loss == [1.0, 1.0]


def test_evaluate_agrees_with_a_hand_computation(pretraining_run):
    model, _, val_batches, _ = pretraining_run
    total, count = 0.0, 0
    for x, y in val_batches[:2]:
        log_probs = log_softmax(model.logits(x).astype(np.float64))
        total -= np.take_along_axis(log_probs, y[..., None], axis=-1).sum()
        count += y.size
    assert evaluate(model, val_batches[:2]) == pytest.approx(total / count, rel=1e-5)

    x, y = val_batches[0]
    mask = np.zeros(y.shape, dtype=int)
    mask[:, -5:] = 1  # only the last five positions count
    log_probs = log_softmax(model.logits(x).astype(np.float64))
    by_hand = -np.take_along_axis(log_probs, y[..., None], axis=-1)[:, -5:].mean()
    empty = (x, y, np.zeros_like(mask))  # a batch with nothing to predict adds nothing
    assert evaluate(model, [(x, y, mask), empty]) == pytest.approx(by_hand, rel=1e-5)
    with pytest.raises(ValueError, match="at least one batch"):
        evaluate(model, [empty])
    with pytest.raises(ValueError, match="at least one batch"):
        evaluate(model, [])


def test_loss_history_plot_works_with_agg():
    import matplotlib.pyplot as plt

    history = LossHistory(steps=[0, 1, 2], train_loss=[3.0, 2.5, 2.0], eval_steps=[2],
                          eval_loss=[2.2], vocab_size=20)  # fmt: skip
    ax = history.plot(title="Tiny run")
    assert ax.get_title() == "Tiny run"
    assert len(ax.get_lines()) == 3  # train, validation, the log(V) baseline
    assert ax.get_legend() is not None
    _, own_ax = plt.subplots()
    assert LossHistory(steps=[0], train_loss=[1.0]).plot(ax=own_ax) is own_ax
    assert len(own_ax.get_lines()) == 1
    plt.close("all")


def test_train_rejects_bad_arguments():
    model = tiny_model(12)
    x, y = random_windows(np.arange(100) % 12, 2, 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="steps must be positive"):
        train(model, lambda step: (x, y), 0, progress=False)
    with pytest.raises(ValueError, match=r"\(x, y\) or \(x, y, mask\)"):
        train(model, lambda step: (x,), 1, progress=False)


def test_train_rejects_a_model_without_gradients():
    bigram = NGramModel(vocab_size=12, n=2).fit([np.arange(100) % 12])
    x, y = random_windows(np.arange(100) % 12, 2, 8, np.random.default_rng(0))
    with pytest.raises(TypeError, match="needs a Transformer"):
        train(bigram, lambda step: (x, y), 1, progress=False)


def test_a_diverged_model_raises_and_is_not_updated():
    model = tiny_model(12)
    model.params["wte"][3] = np.nan
    before = {name: p.copy() for name, p in model.params.items()}
    x, y = random_windows(np.arange(100) % 12, 2, 8, np.random.default_rng(0))
    with pytest.raises(FloatingPointError, match="diverged"):
        train(model, lambda step: (x, y), 1, progress=False)
    for name, p in model.params.items():
        np.testing.assert_array_equal(p, before[name])


def test_train_uses_a_given_optimizer_and_its_learning_rate():
    x, y = random_windows(np.arange(100) % 12, 2, 8, np.random.default_rng(0))
    finals = []
    for lr in (1e-3, 1e-2):
        model = tiny_model(12)
        optimizer = AdamW(model.params, lr=lr)
        train(model, lambda step: (x, y), 3, optimizer=optimizer, progress=False)
        assert optimizer.step_count == 3
        finals.append(model.params["wte"].copy())
    same = tiny_model(12)  # lr given to train overrides the optimizer's
    train(same, lambda step: (x, y), 3, optimizer=AdamW(same.params, lr=1e-3), lr=1e-2,
          progress=False)  # fmt: skip
    np.testing.assert_array_equal(same.params["wte"], finals[1])
    assert not np.array_equal(finals[0], finals[1])


def test_training_repeats_exactly_with_the_same_seeds():
    tokens = np.arange(300) % 12

    def run():
        model, rng = tiny_model(12, seed=5), np.random.default_rng(6)
        history = train(model, lambda step: random_windows(tokens, 2, 8, rng), 4, progress=False)
        return history.train_loss, model.params["wte"]

    (loss_a, wte_a), (loss_b, wte_b) = run(), run()
    assert loss_a == loss_b
    np.testing.assert_array_equal(wte_a, wte_b)


# ----------------------------------------------------------------------- fine-tuning


@pytest.fixture
def sft(tokenizer):
    examples = [encode_sft_example(tokenizer, q, a) for q, a in qa_pairs()[:4]]
    x, y, mask = sft_batch(examples, pad_id=tokenizer.pad_id)
    return tiny_model(tokenizer.vocab_size, seed=1, block_size=x.shape[1]), (x, y, mask)


def test_a_step_with_every_target_masked_out_raises_and_changes_nothing(sft):
    model, (x, y, mask) = sft
    before = {name: p.copy() for name, p in model.params.items()}
    optimizer = AdamW(model.params, lr=1e-2)
    with pytest.raises(ValueError, match="mask selects no tokens"):
        train_step(model, (x, y, np.zeros_like(mask)), optimizer, lr=1e-2)
    assert optimizer.step_count == 0
    for name, p in model.params.items():
        np.testing.assert_array_equal(p, before[name])


def test_prompt_targets_do_not_affect_a_fine_tuning_step(sft, tokenizer):
    model, (x, y, mask) = sft
    rng = np.random.default_rng(2)
    y_other = np.where(mask == 0, rng.integers(0, tokenizer.vocab_size, size=y.shape), y)
    assert np.any(y_other != y)
    models = [model, model.astype(np.float32)]  # two identical copies
    losses = [
        train_step(m, batch, AdamW(m.params, lr=1e-2), lr=1e-2)
        for m, batch in zip(models, [(x, y, mask), (x, y_other, mask)], strict=True)
    ]
    assert losses[0] == losses[1]
    for name in model.params:
        np.testing.assert_array_equal(models[0].params[name], models[1].params[name])


def test_fine_tuning_lowers_the_response_loss(sft):
    model, (x, y, mask) = sft
    before = evaluate(model, [(x, y, mask)])
    history = train(model, lambda step: (x, y, mask), 30, lr=3e-3, progress=False)
    assert history.train_loss[0] == pytest.approx(before, rel=1e-5)
    assert evaluate(model, [(x, y, mask)]) < 0.5 * before
