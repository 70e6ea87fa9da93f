"""course_lib.data_parallel: worker processes make the training step of one process.

The sum of the workers' shares equals fast.loss_and_gradients on the whole batch, and their
steps (gradients, clipping, each its parameters' AdamW update) equal train_step's in one
process, in float64 to ~1e-10 on random batches, masks, clipping and parameter values
(hypothesis); training with two workers follows training in one process (float32); a worker's
error is raised with its own type and message before anything changes, a worker that dies is
reported with what it wrote, and closing leaves nothing behind.
"""

from __future__ import annotations

import copy
import os
import signal

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast import assert_same, assert_trained_alike, random_model
from test_notebooks import execute

from course_lib import data_parallel, fast
from course_lib.data import random_windows
from course_lib.data_parallel import DataParallel
from course_lib.optim import AdamW
from course_lib.training import train, train_step

V, BLOCK = 13, 9


@pytest.fixture(scope="module")
def model():
    return random_model(0, dtype=np.float64, vocab_size=V, block_size=BLOCK)


@pytest.fixture(scope="module")
def parallel(model):
    with DataParallel(model, workers=3) as parallel:
        yield parallel


@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 7), T=st.integers(1, BLOCK), single=st.booleans(),
       masked=st.booleans(), seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_the_workers_sum_to_the_one_process_loss_and_gradients(model, parallel, B, T, single,
                                                               masked, seed):
    rng = np.random.default_rng(seed)
    for p in model.params.values():  # new values, as a step makes: the workers must see them
        p[...] = 0.5 * rng.standard_normal(p.shape)
    shape = (T,) if single else (B, T)
    x, y = rng.integers(0, V, size=shape), rng.integers(0, V, size=shape)
    mask = None
    if masked:
        mask = rng.integers(0, 2, size=shape)
        mask.flat[-1] = 1  # at least one predicted token
    loss, grads = parallel.loss_and_gradients(x, y, mask)
    one_loss, one_grads = fast.loss_and_gradients(model, x, y, mask)
    assert_same(loss, one_loss)
    assert_same(grads, one_grads)


@settings(max_examples=15, deadline=None)
@given(B=st.integers(1, 7), steps=st.integers(1, 3), clip=st.sampled_from([None, 1e-3, 1e3]),
       masked=st.booleans(), seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_the_workers_steps_are_the_one_process_steps(model, parallel, B, steps, clip, masked,
                                                     seed):
    """Three workers, so that a batch of fewer sequences leaves some without a share; clipping
    off, always on (1e-3) and never reached (1e3)."""
    rng = np.random.default_rng(seed)
    for p in model.params.values():
        p[...] = 0.5 * rng.standard_normal(p.shape)
    twin = copy.deepcopy(model)
    optimizers = AdamW(model.params, lr=1e-2), AdamW(twin.params, lr=1e-2)
    for _ in range(steps):
        x, y = rng.integers(0, V, size=(B, BLOCK)), rng.integers(0, V, size=(B, BLOCK))
        mask = rng.integers(0, 2, size=(B, BLOCK)) | np.eye(B, BLOCK, dtype=int) if masked else None
        batch = (x, y) if mask is None else (x, y, mask)
        loss = train_step(model, batch, optimizers[0], 1e-2, clip, parallel)
        assert loss == pytest.approx(train_step(twin, batch, optimizers[1], 1e-2, clip),
                                     rel=1e-10)  # fmt: skip
    assert_same(model.params, twin.params)
    assert_same((optimizers[0].m, optimizers[0].v), (optimizers[1].m, optimizers[1].v))
    assert optimizers[0].step_count == optimizers[1].step_count == steps


def test_the_optimizers_moments_stay_its_own_after_closing():
    """The moments moved into the shared memory: after closing, the optimizer goes on in one
    process exactly as one that never left it."""
    model = random_model(10, dtype=np.float64, vocab_size=V, block_size=BLOCK)
    twin = copy.deepcopy(model)
    optimizers = AdamW(model.params, lr=1e-2), AdamW(twin.params, lr=1e-2)
    x, y = random_windows(np.arange(200) % V, 4, BLOCK, np.random.default_rng(2))
    with DataParallel(model, workers=2) as parallel:
        train_step(model, (x, y), optimizers[0], 1e-2, parallel=parallel)
    train_step(twin, (x, y), optimizers[1], 1e-2)
    for _ in range(2):
        for one, optimizer in zip((model, twin), optimizers, strict=True):
            train_step(one, (x, y), optimizer, 1e-2)
    assert_same(model.params, twin.params)
    assert_same((optimizers[0].m, optimizers[0].v), (optimizers[1].m, optimizers[1].v))


def test_two_optimizers_taking_turns_keep_their_own_moments():
    """One DataParallel, two optimizers of the same model taking turns (a learner comparing
    learning rates): each keeps its own moments, as in one process."""
    model = random_model(13, dtype=np.float64, vocab_size=V, block_size=BLOCK)
    twin = copy.deepcopy(model)
    x, y = random_windows(np.arange(200) % V, 4, BLOCK, np.random.default_rng(3))
    ours = [AdamW(model.params, lr=1e-2), AdamW(model.params, lr=3e-3)]
    theirs = [AdamW(twin.params, lr=1e-2), AdamW(twin.params, lr=3e-3)]
    with DataParallel(model, workers=2) as parallel:
        for turn in (0, 1, 0, 1, 1, 0):
            train_step(model, (x, y), ours[turn], None, parallel=parallel)
            train_step(twin, (x, y), theirs[turn], None)
    assert_same(model.params, twin.params)
    for one, other in zip(ours, theirs, strict=True):
        assert_same((one.m, one.v), (other.m, other.v))


def test_an_optimizer_of_other_parameters_is_refused_before_any_work(model, parallel):
    x = np.zeros((2, 3), dtype=int)
    for params in ({"w": np.zeros(3)}, {**model.params, "wte": np.zeros((2, 2))}):
        with pytest.raises(ValueError, match="same parameter names and shapes"):
            parallel.train_step(x, x, None, AdamW(params))


@given(size=st.integers(0, 10_000), workers=st.integers(1, 9))
def test_the_workers_shares_cover_the_numbers_once_and_about_equally(size, workers):
    shares = [data_parallel._share(size, workers, index) for index in range(workers)]
    assert shares[0].start == 0 and shares[-1].stop == size
    for one, next_one in zip(shares[:-1], shares[1:], strict=True):
        assert one.stop == next_one.start
    lengths = [share.stop - share.start for share in shares]
    assert max(lengths) - min(lengths) <= 1


def test_the_shared_memory_holds_the_matrices_first():
    """The layout that lets a worker decay its share's matrices in one call: matrices before
    vectors, each group in the model's order."""
    model = random_model(1, vocab_size=V, block_size=BLOCK)
    layout = list(data_parallel._layout({name: p.shape for name, p in model.params.items()}))
    matrices = [name for name in model.params if model.params[name].ndim >= 2]
    assert layout == matrices + [name for name in model.params if name not in matrices]


def test_a_workers_error_is_raised_with_its_type_and_message(model, parallel):
    x = np.zeros((4, 3), dtype=int)
    for y, kind, words in [(np.full((4, 3), V), ValueError, "target"),
                           (np.zeros((4, 2), dtype=int), ValueError, "shape")]:
        with pytest.raises(kind, match=words) as raised:
            parallel.loss_and_gradients(x, y)
        with pytest.raises(kind) as in_one_process:
            fast.loss_and_gradients(model, x, y)
        assert str(raised.value).split("(")[0] == str(in_one_process.value).split("(")[0]
    with pytest.raises(ValueError, match="mask selects no tokens"):
        parallel.loss_and_gradients(x, x, np.zeros_like(x))
    loss, _ = parallel.loss_and_gradients(x, x)  # the workers serve on after an error
    assert np.isfinite(loss)


def test_a_diverged_model_raises_before_any_update():
    model = random_model(1, dtype=np.float32, vocab_size=V, block_size=BLOCK)
    model.params["wte"][3] = np.nan
    before = {name: p.copy() for name, p in model.params.items()}
    x, y = random_windows(np.arange(100) % V, 4, 8, np.random.default_rng(0))
    with pytest.raises(FloatingPointError, match="diverged"):
        train(model, lambda step: (x, y), 1, progress=False, workers=2)
    for name, p in model.params.items():
        np.testing.assert_array_equal(p, before[name])


@pytest.mark.parametrize("round_", ["reduce", "update"])
def test_a_worker_that_dies_before_the_update_leaves_the_parameters_as_they_were(round_):
    """Killed after the gradients, or between the reduce and the update: nothing has changed
    (the other worker's update, if it was sent, is the step's part that the error names)."""
    model = random_model(11, dtype=np.float32, vocab_size=V, block_size=BLOCK)
    own = dict(model.params)
    before = {name: p.copy() for name, p in model.params.items()}
    optimizer = AdamW(model.params)
    parallel = DataParallel(model, workers=2)
    answer = parallel._ask

    def killed_before(requests):  # as a worker killed between two rounds
        if requests[0][0] == round_:
            os.kill(parallel._workers[0].pid, signal.SIGKILL)
        return answer(requests)

    parallel._ask = killed_before
    x = np.zeros((2, 4), dtype=int)
    with pytest.raises(RuntimeError, match=r"training worker 0 stopped \(exit code -9\)") as error:
        parallel.train_step(x, x, None, optimizer)
    assert optimizer.step_count == 0
    assert all(model.params[name] is own[name] for name in own)  # its own arrays back
    changed = [name for name, p in model.params.items() if not np.array_equal(p, before[name])]
    if round_ == "reduce":
        assert not changed and "part made" not in str(error.value)
    else:  # worker 1 updated its share (the vectors, and the last of the matrices), not wte
        assert "h.0.ln1.g" in changed and "wte" not in changed
        assert "part made" in str(error.value)


def test_the_model_holds_shared_views_while_open_and_its_own_arrays_after():
    """No copies per step: model.params are the shared memory's views while a DataParallel is
    open; an array put in meanwhile is trained too; closing gives the model's arrays back."""
    model = random_model(15, dtype=np.float64, vocab_size=V, block_size=BLOCK)
    twin = copy.deepcopy(model)
    own, learners_reference = dict(model.params), model.params["wte"]
    x, y = random_windows(np.arange(200) % V, 4, BLOCK, np.random.default_rng(5))
    optimizers = AdamW(model.params, lr=1e-2), AdamW(twin.params, lr=1e-2)
    with DataParallel(model, workers=2) as parallel:
        train_step(model, (x, y), optimizers[0], None, parallel=parallel)
        train_step(twin, (x, y), optimizers[1], None)
        assert model.params["wte"] is parallel._params["wte"]
        replaced = model.params["h.0.mlp.b_fc"] = np.full_like(own["h.0.mlp.b_fc"], 0.5)
        twin.params["h.0.mlp.b_fc"][...] = 0.5
        for _ in range(2):
            train_step(model, (x, y), optimizers[0], None, parallel=parallel)
            train_step(twin, (x, y), optimizers[1], None)
    assert model.params["wte"] is learners_reference
    assert model.params["h.0.mlp.b_fc"] is replaced
    assert_same(model.params, twin.params)


def test_an_interrupt_during_the_update_makes_the_step_whole():
    """Ctrl-C (a notebook's "interrupt the kernel") while the workers update: the step they
    were sent is taken whole, parameters, moments and count, as in one process; then the
    interrupt goes on."""
    model = random_model(14, dtype=np.float64, vocab_size=V, block_size=BLOCK)
    twin = copy.deepcopy(model)
    optimizers = AdamW(model.params, lr=1e-2), AdamW(twin.params, lr=1e-2)
    parallel = DataParallel(model, workers=2)
    send, receive, sent = parallel._send, parallel._receive, []

    def sending(index, request):
        sent.append(request[0])
        send(index, request)

    def interrupted_in_the_update(index):  # Ctrl-C while the main process waits for replies
        if sent[-1] == "update":
            raise KeyboardInterrupt
        return receive(index)

    parallel._send, parallel._receive = sending, interrupted_in_the_update
    x, y = random_windows(np.arange(200) % V, 4, BLOCK, np.random.default_rng(4))
    with pytest.raises(KeyboardInterrupt):
        train_step(model, (x, y), optimizers[0], 1e-2, parallel=parallel)
    train_step(twin, (x, y), optimizers[1], 1e-2)
    assert optimizers[0].step_count == optimizers[1].step_count == 1
    assert_same(model.params, twin.params)
    assert_same((optimizers[0].m, optimizers[0].v), (optimizers[1].m, optimizers[1].v))
    assert not parallel._folder.exists()  # closed


def test_the_workers_import_this_course_lib_whatever_the_working_folder(monkeypatch, tmp_path):
    """`python -m` puts the working folder first on the path: a folder of the learner's holding
    a course_lib of its own must not be what the workers run."""
    (tmp_path / "course_lib").mkdir()
    (tmp_path / "course_lib" / "__init__.py").write_text("raise ImportError('the wrong one')\n")
    monkeypatch.chdir(tmp_path)
    model = random_model(12, dtype=np.float32, vocab_size=V, block_size=BLOCK)
    x = np.zeros((2, 4), dtype=int)
    with DataParallel(model, workers=1) as parallel:
        loss, _ = parallel.loss_and_gradients(x, x)
    assert np.isfinite(loss)


def test_a_worker_that_dies_is_reported_and_the_rest_shut_down():
    model = random_model(2, dtype=np.float32, vocab_size=V, block_size=BLOCK)
    parallel = DataParallel(model, workers=2)
    folder, workers = parallel._folder, parallel._workers
    os.kill(workers[1].pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"training worker 1 stopped \(exit code -9\)"):
        parallel.loss_and_gradients(np.zeros((2, 4), dtype=int), np.zeros((2, 4), dtype=int))
    assert all(worker.poll() is not None for worker in workers) and not folder.exists()
    with pytest.raises(RuntimeError, match="closed"):
        parallel.loss_and_gradients(np.zeros((2, 4), dtype=int), np.zeros((2, 4), dtype=int))


def test_closing_ends_the_workers_and_removes_their_files():
    model = random_model(3, dtype=np.float32, vocab_size=V, block_size=BLOCK)
    with DataParallel(model, workers=2) as parallel:
        folder, workers = parallel._folder, parallel._workers
        assert folder.exists() and all(worker.poll() is None for worker in workers)
    assert all(worker.returncode == 0 for worker in workers) and not folder.exists()
    parallel.close()  # again: nothing


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True])
def test_a_bad_number_of_workers_is_refused(workers):
    model = random_model(4, dtype=np.float32, vocab_size=V, block_size=BLOCK)
    with pytest.raises(ValueError, match="whole number >= 1"):
        DataParallel(model, workers)


def test_training_with_two_workers_follows_training_in_one_process():
    """Twenty AdamW steps in float32, masked fine-tuning batches: the losses agree to 1e-5
    relative and the weights as in test_fast (float32 rounding of two partial sums instead of
    one, compounded by the steps, is all that differs)."""
    rng = np.random.default_rng(7)
    batches = []
    for _ in range(20):
        tokens = rng.integers(0, V, size=(5, BLOCK + 1))
        batches.append((tokens[:, :-1], tokens[:, 1:], rng.integers(0, 2, size=(5, BLOCK)) | 1))
    runs = []
    for workers in (1, 2):
        model = random_model(5, dtype=np.float32, vocab_size=V, block_size=BLOCK)
        history = train(model, lambda step: batches[step], 20, lr=1e-2, progress=False,
                        workers=workers)  # fmt: skip
        runs.append((np.array(history.train_loss), model.params))
    (one_losses, one_params), (two_losses, two_params) = runs
    np.testing.assert_allclose(two_losses, one_losses, rtol=1e-5)
    assert one_losses[-1] < one_losses[0]
    assert_trained_alike(two_params, one_params)


def test_train_step_takes_its_gradients_from_a_given_data_parallel():
    model = random_model(6, dtype=np.float64, vocab_size=V, block_size=BLOCK)
    twin = random_model(6, dtype=np.float64, vocab_size=V, block_size=BLOCK)
    x, y = random_windows(np.arange(200) % V, 4, BLOCK, np.random.default_rng(1))
    with DataParallel(model, workers=2) as parallel:
        losses = [train_step(model, (x, y), AdamW(model.params), lr=1e-2, parallel=parallel),
                  train_step(twin, (x, y), AdamW(twin.params), lr=1e-2)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)
    assert_same(model.params, twin.params)


def test_workers_that_cannot_start_leave_nothing_and_say_what_to_do(monkeypatch, tmp_path):
    model = random_model(7, dtype=np.float32, vocab_size=V, block_size=BLOCK)
    start, started = data_parallel._start_worker, []

    def start_one_only(folder, index):  # the second is refused, as a limit on processes would
        if index == 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        started.append(start(folder, index))
        return started[-1]

    monkeypatch.setattr(data_parallel, "_memory_folder", lambda: str(tmp_path))
    monkeypatch.setattr(data_parallel, "_start_worker", start_one_only)
    with pytest.raises(RuntimeError, match=r"could not start 2 .*\(workers=1\)"):
        DataParallel(model, workers=2)
    assert started[0].poll() is not None and list(tmp_path.iterdir()) == []


def test_training_with_workers_repeats_bit_for_bit():
    """make pretrain's promise: the same sums in the same order, whichever worker ends first."""
    tokens = np.arange(300) % V

    def run():
        model, rng = random_model(8, dtype=np.float32, vocab_size=V, block_size=BLOCK), \
            np.random.default_rng(9)  # fmt: skip
        history = train(model, lambda step: random_windows(tokens, 5, 8, rng), 4, progress=False,
                        workers=2)  # fmt: skip
        return history.train_loss, model.params

    (losses_a, params_a), (losses_b, params_b) = run(), run()
    assert losses_a == losses_b
    for name in params_a:
        np.testing.assert_array_equal(params_a[name], params_b[name])


def test_a_learner_trains_with_workers_from_a_notebook(tmp_path):
    """In a Jupyter kernel, as a learner would: the workers start from the kernel and train."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "import numpy as np\n"
        "from course_lib.data import random_windows\n"
        "from course_lib.training import train\n"
        "from course_lib.transformer import Transformer, TransformerConfig\n"
        "model = Transformer(TransformerConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, "
        "n_embd=16))\n"
        "tokens = np.arange(100) % 5\n"
        "history = train(model, lambda s: random_windows(tokens, 4, 8, np.random.default_rng(s)), "
        "30, lr=1e-2, workers=2, progress=False)\n"
        "print(history.train_loss[0] > 1.0 > 0.5 > history.train_loss[-1])\n")]  # fmt: skip
    path = tmp_path / "workers.ipynb"
    nbformat.write(notebook, path)
    ran, _ = execute(path, allow_errors=False)
    printed = "".join(output.get("text", "") for output in ran.cells[0].outputs)
    assert printed.strip() == "True", printed
