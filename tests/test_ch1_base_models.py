"""Chapter 1 (Base models): each exercise rejects its typical wrong answers; each quiz key holds.

Each wrong answer is graded as a real submission (see chapter_harness); the test cell of its
exercise must score 0 and every other one full marks. Quiz keys are recomputed with course_lib
where the right answer can be computed.
"""

from __future__ import annotations

import math

import chapter_harness as harness
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wrong_messages import (
    ChapterRun,
    check_hidden_cases_reject,
    check_named_message,
    check_table_is_complete,
)

CHAPTER = "ch1_base_models"  # read by the fixtures in conftest.py

# Typical wrong answers, written as learners write them: {solution grade_id: {name: code}}.
WRONG = {
    "ex1_1_make_pairs": {
        "returns lists of rows, not numpy arrays": """
def make_pairs(tokens, context_length):
    tokens = list(tokens)
    n = len(tokens) - context_length
    return ([tokens[i:i + context_length] for i in range(n)],
            [tokens[i + 1:i + context_length + 1] for i in range(n)])
""",
        "no shift: the targets are the inputs": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    rows = [tokens[i:i + context_length] for i in range(len(tokens) - context_length)]
    return np.array(rows), np.array(rows)
""",
        "shifted the wrong way": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length
    inputs = np.array([tokens[i + 1:i + 1 + context_length] for i in range(n)])
    targets = np.array([tokens[i:i + context_length] for i in range(n)])
    return inputs, targets
""",
        "off-by-one: the last window is missing": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length - 1
    inputs = np.array([tokens[i:i + context_length] for i in range(n)])
    targets = np.array([tokens[i + 1:i + 1 + context_length] for i in range(n)])
    return inputs, targets
""",
        "non-overlapping windows (stride L)": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    starts = range(0, len(tokens) - context_length, context_length)
    inputs = np.array([tokens[i:i + context_length] for i in starts])
    targets = np.array([tokens[i + 1:i + 1 + context_length] for i in starts])
    return inputs, targets
""",
        "off-by-one: one window too many": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length + 1
    inputs = np.array([tokens[i:i + context_length] for i in range(n)])
    targets = np.array([tokens[i + 1:i + 1 + context_length] for i in range(n)])
    return inputs, targets
""",
        "windows of L + 1 tokens": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length
    inputs = np.array([tokens[i:i + context_length + 1] for i in range(n)])
    targets = np.array([tokens[i + 1:i + context_length + 2] for i in range(n - 1)] + [inputs[-1]])
    return inputs, targets
""",
        "targets only the token after each window": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length
    inputs = np.array([tokens[i:i + context_length] for i in range(n)])
    return inputs, tokens[context_length:]
""",
        "float arrays from np.zeros": """
def make_pairs(tokens, context_length):
    n = len(tokens) - context_length
    inputs, targets = np.zeros((n, context_length)), np.zeros((n, context_length))
    for i in range(n):
        inputs[i] = tokens[i:i + context_length]
        targets[i] = tokens[i + 1:i + context_length + 1]
    return inputs, targets
""",
        "transposed: one column per window": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length
    inputs = np.array([tokens[i:i + context_length] for i in range(n)])
    targets = np.array([tokens[i + 1:i + 1 + context_length] for i in range(n)])
    return inputs.T, targets.T
""",
        "windows start at 1": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    starts = range(1, len(tokens) - context_length + 1)
    inputs = np.array([tokens[i:i + context_length] for i in starts])
    targets = np.array([tokens[i + 1:i + 1 + context_length] for i in starts])
    return inputs, targets
""",
        "targets are the input ids plus 1": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    inputs = np.array([tokens[i:i + context_length] for i in range(len(tokens) - context_length)])
    return inputs, inputs + 1
""",
        "targets one token short": """
def make_pairs(tokens, context_length):
    tokens = np.asarray(tokens)
    n = len(tokens) - context_length
    inputs = np.array([tokens[i:i + context_length] for i in range(n)])
    targets = np.array([tokens[i + 1:i + context_length] for i in range(n)])
    return inputs, targets
""",
    },
    "ex1_2_bigram_probs": {
        "no smoothing": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    return counts / counts.sum(axis=1, keepdims=True)
""",
        "normalises over the wrong axis": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    return (counts + k) / (counts + k).sum(axis=0, keepdims=True)
""",
        "counts (next, prev) reversed": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[b, a] += 1
    return (counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)
""",
        "counts[a, b] += 1 with index arrays (repeated pairs counted once)": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens)
    counts = np.zeros((vocab_size, vocab_size))
    counts[tokens[:-1], tokens[1:]] += 1
    return (counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)
""",
        "returns a list of lists": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens, dtype=np.int64)
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (tokens[:-1], tokens[1:]), 1)
    return ((counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)).tolist()
""",
        "divides by the token's count, not its count as a context": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens)
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    unigram = np.bincount(tokens, minlength=vocab_size)
    return (counts + k) / (unigram[:, None] + k * vocab_size)
""",
        "adds k, not k * V, to the row total": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    return (counts + k) / (counts.sum(axis=1, keepdims=True) + k)
""",
        "smooths only the zero counts": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    smoothed = np.where(counts == 0, k, counts)
    return smoothed / smoothed.sum(axis=1, keepdims=True)
""",
        "normalises over the whole table": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    return (counts + k) / (counts + k).sum()
""",
        "adds k after normalising": """
def bigram_probs(tokens, vocab_size, k):
    counts = np.zeros((vocab_size, vocab_size))
    for a, b in zip(tokens[:-1], tokens[1:]):
        counts[a, b] += 1
    totals = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    probs = counts / totals + k
    return probs / probs.sum(axis=1, keepdims=True)
""",
        "counts a pair from the last token back to the first": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens, dtype=np.int64)
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (tokens, np.roll(tokens, -1)), 1)
    return (counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)
""",
        "a vocabulary of the distinct tokens only": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens, dtype=np.int64)
    V = len(set(tokens.tolist()))
    counts = np.zeros((V, V))
    np.add.at(counts, (tokens[:-1], tokens[1:]), 1)
    return (counts + k) / (counts.sum(axis=1, keepdims=True) + k * V)
""",
        "returns log-probabilities": """
def bigram_probs(tokens, vocab_size, k):
    tokens = np.asarray(tokens, dtype=np.int64)
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (tokens[:-1], tokens[1:]), 1)
    return np.log((counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size))
""",
    },
    "ex1_3_bpe_merges": {
        'ties go to the first pair counted': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = max(counts, key=counts.get)
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'ties go to the largest pair': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = max(counts, key=lambda pair: (counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'the least frequent pair': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'counts pairs across chunk boundaries': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in [sum(chunks, [])]:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'counts a pair once per chunk': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in set(zip(chunk[:-1], chunk[1:])):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'merges pairs that occur once': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        pass
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'new ids off by one': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k + 1
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'merges only the first occurrence in a chunk': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best and new_id not in merged:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'overlapping pairs merged twice': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 1
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'one merge too few': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges - 1):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return merges
""",
        'returns the merged chunks': """
def learn_merges(chunks, n_merges, first_id):
    chunks = [list(chunk) for chunk in chunks]
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        new_id = first_id + k
        merges.append(best)
        for c, chunk in enumerate(chunks):
            merged, i = [], 0
            while i < len(chunk):
                if i + 1 < len(chunk) and (chunk[i], chunk[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(chunk[i])
                    i += 1
            chunks[c] = merged
    return chunks
""",
        'counts the pairs once, before the loop': """
def learn_merges(chunks, n_merges, first_id):
    counts = {}
    for chunk in chunks:
        for pair in zip(chunk[:-1], chunk[1:]):
            counts[pair] = counts.get(pair, 0) + 1
    ranked = sorted(counts, key=lambda pair: (-counts[pair], pair))
    return [pair for pair in ranked if counts[pair] >= 2][:n_merges]
""",
        'never replaces the pair in the chunks': """
def learn_merges(chunks, n_merges, first_id):
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        merges.append(best)
    return merges
""",
        "merges in the caller's chunks": """
def learn_merges(chunks, n_merges, first_id):
    merges = []
    for k in range(n_merges):
        counts = {}
        for chunk in chunks:
            for pair in zip(chunk[:-1], chunk[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < 2:
            break
        merges.append(best)
        for chunk in chunks:
            i = 0
            while i + 1 < len(chunk):
                if (chunk[i], chunk[i + 1]) == best:
                    chunk[i:i + 2] = [first_id + k]
                i += 1
    return merges
""",
    },
}


MESSAGES = {
    ("ex1_1_make_pairs", "returns lists of rows, not numpy arrays"): "must be numpy arrays",
    ("ex1_1_make_pairs", "no shift: the targets are the inputs"): "no shift",
    ("ex1_1_make_pairs", "shifted the wrong way"): "shifted the wrong way",
    ("ex1_1_make_pairs", "off-by-one: the last window is missing"): "your last window is missing",
    ("ex1_1_make_pairs", "non-overlapping windows (stride L)"): "(stride 1)",
    ("ex1_1_make_pairs", "off-by-one: one window too many"): "ran past the end of the stream",
    ("ex1_1_make_pairs", "windows of L + 1 tokens"): "not L + 1",
    ("ex1_1_make_pairs", "targets only the token after each window"):
        "not only the token after each window",
    ("ex1_1_make_pairs", "float arrays from np.zeros"): "token ids must stay integers",
    ("ex1_1_make_pairs", "transposed: one column per window"): "yours is transposed",
    ("ex1_1_make_pairs", "windows start at 1"): "start positions 0 .. n - L - 1",
    ("ex1_1_make_pairs", "targets are the input ids plus 1"): "not the input ids plus 1",
    ("ex1_1_make_pairs", "targets one token short"): "each target row must hold L = 3 tokens",
    ("ex1_2_bigram_probs", "no smoothing"): "no smoothing",
    ("ex1_2_bigram_probs", "normalises over the wrong axis"): "your COLUMNS sum to 1",
    ("ex1_2_bigram_probs", "counts (next, prev) reversed"): "counted (next, prev) reversed",
    ("ex1_2_bigram_probs", "counts[a, b] += 1 with index arrays (repeated pairs counted once)"):
        "numpy does not accumulate repeated indices",
    ("ex1_2_bigram_probs", "returns a list of lists"): "return a numpy array",
    ("ex1_2_bigram_probs", "divides by the token's count, not its count as a context"):
        "not how often a occurs",
    ("ex1_2_bigram_probs", "adds k, not k * V, to the row total"): "add k * V to each row's total",
    ("ex1_2_bigram_probs", "smooths only the zero counts"): "not only to the zeros",
    ("ex1_2_bigram_probs", "normalises over the whole table"): "normalised over the whole table",
    ("ex1_2_bigram_probs", "adds k after normalising"): "add k to the COUNTS before dividing",
    ("ex1_2_bigram_probs", "counts a pair from the last token back to the first"):
        "from the last token back to the first",
    ("ex1_2_bigram_probs", "a vocabulary of the distinct tokens only"):
        "np.zeros((vocab_size, vocab_size))",
    ("ex1_2_bigram_probs", "returns log-probabilities"): "you returned log-probabilities",
    ("ex1_3_bpe_merges", 'ties go to the first pair counted'):
        'yours went to the pair counted first',
    ("ex1_3_bpe_merges", 'ties go to the largest pair'):
        'yours went to the largest',
    ("ex1_3_bpe_merges", 'the least frequent pair'):
        'take the MOST frequent pair',
    ("ex1_3_bpe_merges", 'counts pairs across chunk boundaries'):
        'you counted a pair across two chunks',
    ("ex1_3_bpe_merges", 'counts a pair once per chunk'):
        'counts twice',
    ("ex1_3_bpe_merges", 'merges pairs that occur once'):
        'you merged pairs that occur only once',
    ("ex1_3_bpe_merges", 'new ids off by one'):
        'makes the id first_id + k',
    ("ex1_3_bpe_merges", 'merges only the first occurrence in a chunk'):
        'replace EVERY occurrence',
    ("ex1_3_bpe_merges", 'overlapping pairs merged twice'):
        'skip BOTH of its tokens',
    ("ex1_3_bpe_merges", 'one merge too few'):
        'one merge too few',
    ("ex1_3_bpe_merges", 'returns the merged chunks'):
        'not the merged chunks',
    ("ex1_3_bpe_merges", 'counts the pairs once, before the loop'):
        'you ranked the pairs once',
    ("ex1_3_bpe_merges", 'never replaces the pair in the chunks'):
        'the same pair was merged again and again',
    ("ex1_3_bpe_merges", "merges in the caller's chunks"):
        "changed the caller's chunks",
}


class TestGrading(harness.ChapterGradingTests):
    """Reference answers get full marks; each typical wrong answer scores 0 (chapter_harness)."""

    chapter = CHAPTER
    wrong = WRONG
    written = {"analysis_1_7_instructions": 3}
    written_answer = "The corpus never shows a question followed by its answer."
    n_questions = 7

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])

    def test_every_exercise_names_ten_or_more_typical_mistakes(self):
        check_table_is_complete(self.wrong, MESSAGES, minimum=10)



@pytest.fixture(scope="module")
def cases(source):
    """The hidden cases of every exercise, run in this process."""
    return ChapterRun(source)


def test_the_hidden_check_fails_an_answer_every_hidden_case_accepts(answer_keys, cases):
    solution = answer_keys["ex1_3_bpe_merges"]
    same = {"ex1_3_bpe_merges": {"the reference itself": solution}}
    with pytest.raises(AssertionError, match="passes every hidden case"):
        check_hidden_cases_reject(cases, solution, same, ("ex1_3_bpe_merges",
                                                          "the reference itself"))


@pytest.mark.parametrize("case", MESSAGES, ids=str)
def test_wrong_answer_loses_its_points_in_the_hidden_tests(answer_keys, cases, case):
    check_hidden_cases_reject(cases, answer_keys[case[0]], WRONG, case)


# ------------------------------------------------------------------ multiple-choice answer keys


def test_q1_1_the_base_model_objective_is_next_token_prediction(quiz):
    from course_lib.data import random_windows

    widget, key = quiz["q1_1"]
    assert key == "C" and "next token" in widget.options[key]
    # the objective needs no labels beyond the text: every position's target is in the stream
    tokens = np.random.default_rng(0).integers(0, 50, size=40)
    x, y = random_windows(tokens, 3, 8, np.random.default_rng(1))
    assert np.array_equal(x[:, 1:], y[:, :-1])


def test_q1_2_bpe_gives_shorter_sequences_and_a_larger_vocabulary(quiz):
    from course_lib.corpus import default_corpus
    from course_lib.pretrained import TOKENIZER_PATH
    from course_lib.tokenizers import CharTokenizer, load_tokenizer

    bpe = load_tokenizer(TOKENIZER_PATH)
    text = default_corpus()[:20_000]
    chars = CharTokenizer.train(text)
    assert len(bpe.encode(text)) < len(chars.encode(text)) / 2  # A: shorter sequences
    assert bpe.vocab_size > chars.vocab_size  # ... at the cost of a larger vocabulary (not B)
    unseen = " Zanzibar café"
    assert bpe.decode(bpe.encode(unseen)) == unseen  # not C: anything can be encoded
    assert len(bpe.encode(" Zanzibar")) > 1  # not D: a rare word takes several tokens
    assert quiz["q1_2"][1] == "A"


def test_q1_3_the_targets_are_the_next_tokens_of_the_text(quiz):
    from course_lib.data import random_windows

    tokens = np.arange(100, 160)
    x, y = random_windows(tokens, 4, 10, np.random.default_rng(2))
    assert np.array_equal(y, x + 1)  # the token after each input token, from the same stream
    assert quiz["q1_3"][1] == "B"


def test_q1_4_annotator_years_for_two_trillion_tokens(quiz):
    tokens, hours_per_year = 2e12, 2000
    computed = {
        "A": tokens / 3600 / (24 * 365),  # a year worked around the clock
        "B": tokens / 3600 / hours_per_year,  # the right estimate
        "C": tokens / 60 / hours_per_year,  # seconds to hours by dividing by 60
        "D": tokens / hours_per_year,  # no conversion from seconds
    }
    widget, key = quiz["q1_4"]
    words = {"million": 1e6, "billion": 1e9}
    for letter, value in computed.items():
        text = widget.options[letter].removeprefix("About ")
        number, _, unit = text.partition(" ")
        shown = float(number.replace(",", "")) * words.get(unit, 1)
        assert math.isclose(shown, value, rel_tol=0.05), (letter, shown, value)
    assert key == "B"


def test_q1_5_fine_tuning_keeps_the_next_token_objective(quiz):
    from course_lib.data import encode_sft_example, sft_batch
    from course_lib.losses import cross_entropy, token_losses
    from course_lib.tokenizers import CharTokenizer
    from course_lib.transformer import Transformer, TransformerConfig

    tokenizer = CharTokenizer.train("what is two plus two? four.")
    model = Transformer(
        TransformerConfig(
            vocab_size=tokenizer.vocab_size, block_size=40, n_layer=1, n_head=2, n_embd=16
        ),
        seed=0,
    )
    x, y, mask = sft_batch(
        [encode_sft_example(tokenizer, "what is two plus two?", "four.")], pad_id=tokenizer.pad_id
    )
    logits = model.logits(x)
    fine_tuning_loss = cross_entropy(logits, y, mask=mask, reduction="sum")
    next_token_losses = token_losses(logits, y)  # the pre-training loss of each position
    assert math.isclose(
        float(fine_tuning_loss), float(next_token_losses[mask == 1].sum()), rel_tol=1e-5
    )
    assert quiz["q1_5"][1] == "False"


def test_q1_6_the_corpus_never_answers_its_questions(quiz):
    from course_lib.corpus import default_corpus, qa_pairs

    corpus = default_corpus()
    pairs = qa_pairs()
    assert sum(question in corpus for question, _ in pairs) > len(pairs) / 2  # they do occur
    assert not any(f"{question} {answer}" in corpus for question, answer in pairs)
    assert quiz["q1_6"][1] == "B"


def test_reference_solutions_agree_with_course_lib(answer_keys):
    """The demos fall back on course_lib (or numpy windows) when an exercise is unsolved."""
    from course_lib.data import random_windows
    from course_lib.ngram import NGramModel

    namespace = {"np": np}
    for grade_id in WRONG:
        exec(answer_keys[grade_id], namespace)  # noqa: S102 - the instructor's solutions
    rng = np.random.default_rng(7)
    tokens = rng.integers(0, 30, size=200)
    inputs, targets = namespace["make_pairs"](tokens, 16)
    windows = np.lib.stride_tricks.sliding_window_view(tokens, 17)
    assert np.array_equal(inputs, windows[:, :-1]) and np.array_equal(targets, windows[:, 1:])
    x, y = random_windows(tokens, 8, 16, rng)
    rows = {tuple(row) for row in np.concatenate([inputs, targets], axis=1)}
    assert all(tuple(row) in rows for row in np.concatenate([x, y], axis=1))

    table = namespace["bigram_probs"](tokens, 30, 0.2)
    model = NGramModel(30, n=2, smoothing=0.2).fit([tokens])
    assert np.allclose(table, np.exp(model.logits(np.arange(30))))


@settings(max_examples=40, deadline=None)
@given(text=st.text(alphabet="ab xyz.", max_size=60), n_merges=st.integers(0, 12))
def test_the_bpe_exercise_learns_the_merges_of_course_lib(answer_keys, text, n_merges):
    """The reference learn_merges, on any text, learns BPETokenizer.train's merges: the self-check
    of Exercise 1.3 compares a learner's loop with BPETokenizer on the same text."""
    from course_lib.tokenizers import BPETokenizer, text_chunks

    namespace = {}
    exec(answer_keys["ex1_3_bpe_merges"], namespace)  # noqa: S102 - the instructor's solution
    chunks = [[5 + byte for byte in chunk.encode("utf-8")] for chunk in text_chunks(text)]
    learnt = namespace["learn_merges"](chunks, n_merges, 261)
    assert learnt == BPETokenizer.train(text, vocab_size=261 + n_merges).merges


def test_q1_7_pretraining_takes_its_labels_from_the_text_then_fine_tuning(quiz):
    from course_lib.data import random_windows

    x, y = random_windows(np.arange(50), 4, 8, np.random.default_rng(0))
    assert np.array_equal(y, x + 1)  # the targets are the text shifted by one: no annotator
    widget, key = quiz["q1_7"]
    assert key == "A" and "Self-supervised" in widget.options[key]
    assert any("poem" in option for option in quiz["q1_1"][0].options.values())
