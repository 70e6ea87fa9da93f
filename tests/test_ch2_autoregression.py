"""Chapter 2 (Autoregression): each exercise rejects its typical wrong answers; each quiz key holds.

Each wrong answer is graded as a real submission (see chapter_harness); the test cell of its
exercise must score 0 and every other one full marks. Quiz keys are recomputed with course_lib
where the right answer can be computed.
"""

from __future__ import annotations

import math

import chapter_harness as harness
import numpy as np
import pytest
from wrong_messages import (
    ChapterRun,
    check_hidden_cases_reject,
    check_named_message,
    check_table_is_complete,
)

CHAPTER = "ch2_autoregression"  # read by the fixtures in conftest.py

# Typical wrong answers, written as learners write them: {solution grade_id: {name: code}}.
WRONG = {
    "ex2_1_sequence_log_prob": {
        "mean of the logs instead of their sum": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[1:]]
    return float(np.mean(np.log(chosen))) if len(chosen) else 0.0
""",
        "log10 instead of the natural log": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[1:]]
    return float(np.sum(np.log10(chosen)))
""",
        "off-by-one: row t scores tokens[t]": """
def sequence_log_prob(step_probs, tokens):
    return float(sum(np.log(step_probs[t][tokens[t]]) for t in range(len(tokens))))
""",
        "log of the product (underflows)": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[1:]]
    return float(np.log(np.prod(chosen)))
""",
        "sums probabilities": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    return float(np.sum(step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[1:]]))
""",
        "scores the given first token too": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[1:]]
    return float(np.log(step_probs[0, tokens[0]]) + np.sum(np.log(chosen)))
""",
        "the probability, no log": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    return float(np.prod(step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[1:]]))
""",
        "sign flipped: returns the loss": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[1:]]
    return float(-np.sum(np.log(chosen)))
""",
        "the loop stops one prediction early": """
def sequence_log_prob(step_probs, tokens):
    total = 0.0
    for t in range(1, len(tokens) - 1):
        total += np.log(step_probs[t - 1][tokens[t]])
    return float(total)
""",
        "scores the context tokens tokens[:-1]": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[:-1]]
    return float(np.sum(np.log(chosen)))
""",
        "row t (not t - 1) scores tokens[t]": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.arange(1, len(tokens)), np.asarray(tokens)[1:]]
    return float(np.sum(np.log(chosen)))
""",
        "rows and columns swapped": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.asarray(tokens)[1:], np.arange(len(tokens) - 1)]
    return float(np.sum(np.log(chosen)))
""",
        "each row's most probable token": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    return float(np.sum(np.log(step_probs[: len(tokens) - 1].max(axis=1))))
""",
        "returns a one-element array": """
def sequence_log_prob(step_probs, tokens):
    step_probs = np.asarray(step_probs, dtype=np.float64)
    chosen = step_probs[np.arange(len(tokens) - 1), np.asarray(tokens)[1:]]
    return np.log(chosen).sum(keepdims=True)
""",
        "indexes the list of lists with a tuple": """
def sequence_log_prob(step_probs, tokens):
    return float(sum(np.log(step_probs[t - 1, tokens[t]]) for t in range(1, len(tokens))))
""",
    },
    "ex2_2_generate_greedy": {
        "returns the prompt and the new tokens": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context = list(prompt)
    for _ in range(n_new):
        token = int(np.argmax(next_token_probs(context)))
        context.append(token)
        if token == stop_id:
            break
    return context
""",
        "samples instead of taking the argmax": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = list(prompt), []
    for _ in range(n_new):
        probs = np.asarray(next_token_probs(context), dtype=np.float64)
        token = int(np.random.choice(len(probs), p=probs / probs.sum()))
        context.append(token)
        new_tokens.append(token)
        if token == stop_id:
            break
    return new_tokens
""",
        "never feeds the token back": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    new_tokens = []
    for _ in range(n_new):
        token = int(np.argmax(next_token_probs(list(prompt))))
        new_tokens.append(token)
        if token == stop_id:
            break
    return new_tokens
""",
        "argmin": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = list(prompt), []
    for _ in range(n_new):
        token = int(np.argmin(next_token_probs(context)))
        context.append(token)
        new_tokens.append(token)
        if token == stop_id:
            break
    return new_tokens
""",
        "ignores the stop token": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = list(prompt), []
    for _ in range(n_new):
        token = int(np.argmax(next_token_probs(context)))
        context.append(token)
        new_tokens.append(token)
    return new_tokens
""",
        "off-by-one: one token too many": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = list(prompt), []
    for _ in range(n_new + 1):
        token = int(np.argmax(next_token_probs(context)))
        context.append(token)
        new_tokens.append(token)
        if token == stop_id:
            break
    return new_tokens
""",
        "appends to the caller's prompt": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = prompt, []
    for _ in range(n_new):
        token = int(np.argmax(next_token_probs(context)))
        context.append(token)
        new_tokens.append(token)
        if token == stop_id:
            break
    return new_tokens
""",
        "feeds the model only the last token": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    last, new_tokens = prompt[-1], []
    for _ in range(n_new):
        last = int(np.argmax(next_token_probs([last])))
        new_tokens.append(last)
        if last == stop_id:
            break
    return new_tokens
""",
        "starts from the prompt's last token only": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = [prompt[-1]], []
    for _ in range(n_new):
        token = int(np.argmax(next_token_probs(context)))
        context.append(token)
        new_tokens.append(token)
        if token == stop_id:
            break
    return new_tokens
""",
        "off-by-one: range(n_new - 1)": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = list(prompt), []
    for _ in range(n_new - 1):
        token = int(np.argmax(next_token_probs(context)))
        context.append(token)
        new_tokens.append(token)
        if token == stop_id:
            break
    return new_tokens
""",
        "stop id 0 treated as false": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = list(prompt), []
    for _ in range(n_new):
        token = int(np.argmax(next_token_probs(context)))
        context.append(token)
        new_tokens.append(token)
        if stop_id and token == stop_id:
            break
    return new_tokens
""",
        "stops before appending the stop token": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context, new_tokens = list(prompt), []
    for _ in range(n_new):
        token = int(np.argmax(next_token_probs(context)))
        if token == stop_id:
            break
        context.append(token)
        new_tokens.append(token)
    return new_tokens
""",
        "a generator instead of a list": """
def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):
    context = list(prompt)
    for _ in range(n_new):
        token = int(np.argmax(next_token_probs(context)))
        context.append(token)
        yield token
        if token == stop_id:
            return
""",
    },
    "ex2_3_temperature_top_k": {
        "divides the probabilities by the temperature": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64)
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)
    p = np.exp(z - z.max()) / temperature
    return p / p.sum()
""",
        "keeps k + 1 tokens": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is not None:
        z = np.where(z >= np.sort(z)[-(k + 1)], z, -np.inf)
    p = np.exp(z - z.max())
    return p / p.sum()
""",
        "keeps k - 1 tokens": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is not None:
        z = np.where(z > np.sort(z)[-k], z, -np.inf)
    p = np.exp(z - z.max())
    return p / p.sum()
""",
        "forgets to renormalise after top-k": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    p = np.exp(z - z.max())
    p = p / p.sum()
    if k is not None:
        p = np.where(z >= np.sort(z)[-k], p, 0.0)
    return p
""",
        "no max-subtraction (overflow)": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)
    p = np.exp(z)
    return p / p.sum()
""",
        "ignores the temperature whenever k is given": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64)
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)
    else:
        z = z / temperature
    p = np.exp(z - z.max())
    return p / p.sum()
""",
        "multiplies the logits by the temperature": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) * temperature
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)
    p = np.exp(z - z.max())
    return p / p.sum()
""",
        "keeps the k smallest logits (ascending sort)": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is not None:
        z = np.where(z <= np.sort(z)[k - 1], z, -np.inf)
    p = np.exp(z - z.max())
    return p / p.sum()
""",
        "masked logits set to 0 instead of -inf": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, 0.0)
    p = np.exp(z - z.max())
    return p / p.sum()
""",
        "keeps the first k tokens of the vocabulary": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is not None:
        z[k:] = -np.inf
    p = np.exp(z - z.max())
    return p / p.sum()
""",
        "exp without dividing by the sum": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)
    return np.exp(z)
""",
        "sorts the logits (loses the vocabulary order)": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.sort(np.asarray(logits, dtype=np.float64))[::-1] / temperature
    if k is not None:
        z[k:] = -np.inf
    p = np.exp(z - z.max())
    return p / p.sum()
""",
        "divides integer logits in place": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits)
    z = z - z.max()
    z /= temperature
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)
    p = np.exp(z)
    return p / p.sum()
""",
        "subtracts the smallest logit (overflow)": """
def apply_temperature_and_top_k(logits, temperature, k=None):
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)
    p = np.exp(z - z[np.isfinite(z)].min())
    return p / p.sum()
""",
    },
    "ex2_4_top_p": {
        "accumulates in vocabulary order": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    keep = np.cumsum(probs) - probs < p
    kept = np.where(keep, probs, 0.0)
    return kept / kept.sum()
""",
        "drops the token that crosses p": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs)
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[np.cumsum(probs[order]) < p]] = True
    kept = np.where(keep, probs, 0.0)
    return kept / kept.sum()
""",
        "forgets to renormalise": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs)
    sorted_probs = probs[order]
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[np.cumsum(sorted_probs) - sorted_probs < p]] = True
    return np.where(keep, probs, 0.0)
""",
        "kept tokens not mapped back to vocabulary order": """
def apply_top_p(probs, p):
    sorted_probs = np.sort(np.asarray(probs, dtype=np.float64))[::-1]
    kept = np.where(np.cumsum(sorted_probs) - sorted_probs < p, sorted_probs, 0.0)
    return kept / kept.sum()
""",
        "sorted positions marked in vocabulary order": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    sorted_probs = probs[np.argsort(-probs)]
    keep = np.cumsum(sorted_probs) - sorted_probs < p
    kept = np.where(keep, probs, 0.0)
    return kept / kept.sum()
""",
        "ascending sort": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(probs)
    sorted_probs = probs[order]
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[np.cumsum(sorted_probs) - sorted_probs < p]] = True
    kept = np.where(keep, probs, 0.0)
    return kept / kept.sum()
""",
        "compares each probability with p": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        kept = np.where(probs >= p, probs, 0.0)
        return kept / kept.sum()
""",
        "divides by p instead of the kept total": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs)
    sorted_probs = probs[order]
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[np.cumsum(sorted_probs) - sorted_probs < p]] = True
    return np.where(keep, probs, 0.0) / p
""",
        "keeps one token too many": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs)
    n_keep = int(np.searchsorted(np.cumsum(probs[order]), p)) + 2
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[:n_keep]] = True
    kept = np.where(keep, probs, 0.0)
    return kept / kept.sum()
""",
        "zeroes the caller's array": """
def apply_top_p(probs, p):
    probs = np.asarray(probs)
    order = np.argsort(-probs)
    sorted_probs = probs[order]
    drop = order[np.cumsum(sorted_probs) - sorted_probs >= p]
    probs[drop] = 0.0
    return probs / probs.sum()
""",
        "returns the mask of kept tokens": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs)
    sorted_probs = probs[order]
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[np.cumsum(sorted_probs) - sorted_probs < p]] = True
    return keep
""",
        "keeps p * V tokens, like top-k": """
def apply_top_p(probs, p):
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs)
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[: max(1, int(round(p * len(probs))))]] = True
    kept = np.where(keep, probs, 0.0)
    return kept / kept.sum()
""",
    },
}


MESSAGES = {
    ("ex2_1_sequence_log_prob", "mean of the logs instead of their sum"):
        "MEAN of the log-probabilities",
    ("ex2_1_sequence_log_prob", "log10 instead of the natural log"): "you used np.log10",
    ("ex2_1_sequence_log_prob", "off-by-one: row t scores tokens[t]"): "you used all T rows",
    ("ex2_1_sequence_log_prob", "log of the product (underflows)"): "underflowed to 0",
    ("ex2_1_sequence_log_prob", "sums probabilities"): "you summed probabilities",
    ("ex2_1_sequence_log_prob", "scores the given first token too"): "the first token is given",
    ("ex2_1_sequence_log_prob", "the probability, no log"): "not its log",
    ("ex2_1_sequence_log_prob", "sign flipped: returns the loss"): "sign: you returned the loss",
    ("ex2_1_sequence_log_prob", "the loop stops one prediction early"):
        "the last prediction is missing",
    ("ex2_1_sequence_log_prob", "scores the context tokens tokens[:-1]"):
        "you scored tokens[:-1]",
    ("ex2_1_sequence_log_prob", "row t (not t - 1) scores tokens[t]"):
        "scored by row t - 1 (the row of its prefix), not row t",
    ("ex2_1_sequence_log_prob", "rows and columns swapped"): "rows and columns swapped",
    ("ex2_1_sequence_log_prob", "each row's most probable token"): "most probable token (np.max)",
    ("ex2_1_sequence_log_prob", "returns a one-element array"): "return a Python float",
    ("ex2_1_sequence_log_prob", "indexes the list of lists with a tuple"):
        "index step_probs as a numpy array",
    ("ex2_2_generate_greedy", "returns the prompt and the new tokens"):
        "return only the new tokens",
    ("ex2_2_generate_greedy", "samples instead of taking the argmax"): "your loop samples",
    ("ex2_2_generate_greedy", "never feeds the token back"): "feed the grown context back",
    ("ex2_2_generate_greedy", "argmin"): "LEAST probable token",
    ("ex2_2_generate_greedy", "ignores the stop token"): "stop right after it",
    ("ex2_2_generate_greedy", "off-by-one: one token too many"): "one token too many",
    ("ex2_2_generate_greedy", "appends to the caller's prompt"): "modified the prompt list",
    ("ex2_2_generate_greedy", "feeds the model only the last token"):
        "you fed the model only the last token",
    ("ex2_2_generate_greedy", "starts from the prompt's last token only"):
        "read the whole prompt, not only its last token",
    ("ex2_2_generate_greedy", "off-by-one: range(n_new - 1)"): "one token too few",
    ("ex2_2_generate_greedy", "stop id 0 treated as false"): "never `if stop_id`",
    ("ex2_2_generate_greedy", "stops before appending the stop token"):
        "stopped before appending the stop token",
    ("ex2_2_generate_greedy", "a generator instead of a list"):
        "an iterator: it hands out its items one at a time",
    ("ex2_3_temperature_top_k", "divides the probabilities by the temperature"):
        "divide the LOGITS by the temperature",
    ("ex2_3_temperature_top_k", "keeps k + 1 tokens"): "you kept k + 1",
    ("ex2_3_temperature_top_k", "keeps k - 1 tokens"): "you kept k - 1",
    ("ex2_3_temperature_top_k", "forgets to renormalise after top-k"):
        "renormalise the kept tokens",
    ("ex2_3_temperature_top_k", "no max-subtraction (overflow)"): "subtract the LARGEST logit",
    ("ex2_3_temperature_top_k", "ignores the temperature whenever k is given"):
        "with k given, the temperature was ignored",
    ("ex2_3_temperature_top_k", "multiplies the logits by the temperature"):
        "you multiplied the logits by the temperature",
    ("ex2_3_temperature_top_k", "keeps the k smallest logits (ascending sort)"):
        "you kept the k SMALLEST logits",
    ("ex2_3_temperature_top_k", "masked logits set to 0 instead of -inf"): "the logit -np.inf",
    ("ex2_3_temperature_top_k", "keeps the first k tokens of the vocabulary"):
        "you kept the first k tokens of the vocabulary",
    ("ex2_3_temperature_top_k", "exp without dividing by the sum"): "divide by their sum",
    ("ex2_3_temperature_top_k", "sorts the logits (loses the vocabulary order)"):
        "not in vocabulary order",
    ("ex2_3_temperature_top_k", "divides integer logits in place"): "work on a float copy",
    ("ex2_3_temperature_top_k", "subtracts the smallest logit (overflow)"):
        "subtract the LARGEST logit",
    ("ex2_4_top_p", "accumulates in vocabulary order"): "you accumulated in vocabulary order",
    ("ex2_4_top_p", "drops the token that crosses p"):
        "keep the token that makes the running total reach p",
    ("ex2_4_top_p", "forgets to renormalise"): "renormalise them",
    ("ex2_4_top_p", "kept tokens not mapped back to vocabulary order"):
        "the kept probabilities are in sorted order",
    ("ex2_4_top_p", "sorted positions marked in vocabulary order"):
        "you marked the first places of the SORTED order",
    ("ex2_4_top_p", "ascending sort"): "not ascending",
    ("ex2_4_top_p", "compares each probability with p"): "not each probability on its own",
    ("ex2_4_top_p", "divides by p instead of the kept total"): "you divided by p",
    ("ex2_4_top_p", "keeps one token too many"): "one too many",
    ("ex2_4_top_p", "zeroes the caller's array"): "changed the caller's array",
    ("ex2_4_top_p", "returns the mask of kept tokens"): "you returned which tokens are kept",
    ("ex2_4_top_p", "keeps p * V tokens, like top-k"): "not on p * V",
}


class TestGrading(harness.ChapterGradingTests):
    """Reference answers get full marks; each typical wrong answer scores 0 (chapter_harness)."""

    chapter = CHAPTER
    wrong = WRONG
    written = {"analysis_2_7_no_mask": 3}
    written_answer = "Without the mask each position can read the token it predicts."
    n_questions = 8

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])

    def test_every_exercise_names_ten_or_more_typical_mistakes(self):
        check_table_is_complete(self.wrong, MESSAGES, minimum=10)



@pytest.fixture(scope="module")
def cases(source):
    """The hidden cases of every exercise, run in this process."""
    return ChapterRun(source)


@pytest.mark.parametrize("case", MESSAGES, ids=str)
def test_wrong_answer_loses_its_points_in_the_hidden_tests(answer_keys, cases, case):
    check_hidden_cases_reject(cases, answer_keys[case[0]], WRONG, case)


# ------------------------------------------------------------------ multiple-choice answer keys


def test_q2_1_chain_rule_log_probability(quiz):
    widget, key = quiz["q2_1"]
    factors = np.array([0.5, 0.25, 0.8])
    computed = {
        "A": math.log(factors.sum()),
        "B": float(np.log(factors).sum()),
        "C": float(np.log(factors).mean()),
        "D": float(factors.prod()),
    }
    for letter, value in computed.items():
        assert f"{value:.3f}".rstrip("0") in widget.options[letter], (letter, value)
    assert key == "B"
    assert math.isclose(computed[key], math.log(factors.prod()))


def test_q2_2_low_temperature_is_greedy(quiz):
    from course_lib.losses import softmax
    from course_lib.sampling import apply_temperature

    logits = np.array([0.3, 2.0, 1.9, -1.0])
    cold = softmax(apply_temperature(logits, 1e-3))
    hot = softmax(apply_temperature(logits, 1e3))
    assert cold[np.argmax(logits)] > 0.999  # all mass on the argmax: greedy decoding
    assert np.allclose(hot, 1 / len(logits), atol=1e-2)  # option A is the HIGH-temperature limit
    assert quiz["q2_2"][1] == "B"


def test_q2_3_prediction_at_t_depends_on_the_prefix_up_to_t(quiz):
    from course_lib.transformer import Transformer, TransformerConfig

    model = Transformer(TransformerConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2,
                                          n_embd=16), seed=3, dtype=np.float64)
    ids = np.array([1, 5, 7, 2, 9, 4, 11, 6])
    base = model.logits(ids)
    depends = np.zeros((len(ids), len(ids)), dtype=bool)  # depends[t, j]: logits[t] reads x_j
    for j in range(len(ids)):
        edited = ids.copy()
        edited[j] = (ids[j] + 1) % 13
        depends[:, j] = np.abs(model.logits(edited) - base).max(axis=-1) > 1e-12
    assert np.array_equal(depends, np.tril(np.ones_like(depends)))  # x_0..x_t, option A
    assert quiz["q2_3"][1] == "A"


def test_q2_4_greedy_misses_the_most_probable_sequence(source, quiz):
    toy_cell = next(c.source for c in source.cells if c.source.startswith("TWO_STEP_VOCAB"))
    namespace = {"np": np}
    exec(toy_cell, namespace)  # noqa: S102 - the chapter's own toy model
    probs = namespace["two_step_probs"]
    vocab = range(len(namespace["TWO_STEP_VOCAB"]))

    def probability(sequence):
        return math.prod(probs([0, *sequence[:t]])[token] for t, token in enumerate(sequence))

    first = int(np.argmax(probs([0])))
    greedy = [first, int(np.argmax(probs([0, first])))]
    best = max(([a, b] for a in vocab for b in vocab), key=probability)
    assert math.isclose(probability(greedy), 0.24) and math.isclose(probability(best), 0.36)
    assert quiz["q2_4"][1] == "False"


def test_q2_5_independent_positions_give_new_angeles_a_quarter(quiz):
    data = [("New", "York")] * 50 + [("Los", "Angeles")] * 50
    p_first = sum(first == "New" for first, _ in data) / len(data)
    p_second = sum(second == "Angeles" for _, second in data) / len(data)
    widget, key = quiz["q2_5"]
    assert widget.options[key] == str(p_first * p_second)


def test_q2_6_a_sequence_of_t_tokens_makes_t_minus_1_predictions(quiz):
    from course_lib.losses import sequence_loss
    from course_lib.ngram import NGramModel

    # contexts never seen in training get a uniform prediction: each costs exactly ln V
    uniform = NGramModel(vocab_size=10, n=2).fit([[0, 0]])
    tokens = [1, 2, 3, 4]
    predictions = sequence_loss(uniform, tokens) / math.log(10)
    assert math.isclose(predictions, len(tokens) - 1)
    widget, key = quiz["q2_6"]
    assert key == "B" and widget.options[key].startswith("T - 1")


def test_reference_solutions_agree_with_course_lib(answer_keys):
    """The demos fall back on course_lib when an exercise is unsolved: both must agree."""
    from course_lib.losses import sequence_loss, softmax
    from course_lib.ngram import NGramModel
    from course_lib.sampling import generate, next_token_distribution

    namespace = {"np": np}
    for grade_id in WRONG:
        exec(answer_keys[grade_id], namespace)  # noqa: S102 - the instructor's solutions
    rng = np.random.default_rng(7)
    model = NGramModel(vocab_size=12, n=2, smoothing=0.5).fit([rng.integers(0, 12, size=300)])
    ids = rng.integers(0, 12, size=20).tolist()
    step_probs = softmax(model.logits(np.array(ids)))
    assert math.isclose(namespace["sequence_log_prob"](step_probs, ids), -sequence_loss(model, ids))
    greedy = list(generate(model, ids[:3], 10, temperature=0))
    assert namespace["generate_greedy"](model.next_token_probs, ids[:3], 10) == greedy
    for temperature, k, p in [(0.7, 4, None), (1.3, None, 0.8), (1.0, 6, 0.5)]:
        logits = rng.normal(size=12) * 2
        ours = namespace["apply_temperature_and_top_k"](logits, temperature, k)
        if p is not None:
            ours = namespace["apply_top_p"](ours, p)
        assert np.allclose(ours, next_token_distribution(logits, temperature, k, p))


def test_q2_7_the_cache_computes_the_new_token_against_stored_keys(quiz):
    from course_lib.pretrained import load_base_model

    model, tokenizer = load_base_model()
    ids = np.array(tokenizer.encode("The capital of France is Paris. A cow says moo."))
    kv = model.new_kv_cache()
    model.forward_cached(ids[None, :-1], kv)
    last = model.forward_cached(ids[None, -1:], kv)[0, -1]  # one new token against the cache
    assert np.allclose(last, model.logits(ids)[-1], atol=1e-4)
    widget, key = quiz["q2_7"]
    assert key == "A" and "stored keys and values" in widget.options[key]


def test_q2_8_autoregressive_generation_is_one_token_at_a_time(quiz):
    widget, key = quiz["q2_8"]
    assert key == "A" and "one token at a time" in widget.options[key]
