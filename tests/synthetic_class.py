"""A synthetic class for the similarity report: honest students who each write their own
solutions in their own style, classmates who copy and disguise them, students who copy the
published solutions.

Each honest student's answer to an exercise is one of two ways of solving it (a loop, a
vectorised expression, a different library route), with small choices drawn inside it
(np.array or np.asarray, keepdims or an index, ...), their own names, and their own habits
(`personal_style`: `np.array` for `np.asarray`, `range(0, n)`, `x = x + y` for `x += y`, a
debugging print left behind, ...); their written answers are sentences drawn slot by slot from
many phrasings. A copy (`disguise`) renames every local name, reorders the top-level
functions and rewrites the comments (and a copied written answer has a few words changed and a
sentence added): what a student who copies does to hide it. The multiple-choice answers are
the right ones for everybody. The solutions are right: tests/test_similarity.py grades, as
handed in, a few students whose solutions hold between them every line the writers draw, and
they earn every point. A class may also have students who hand in a classmate's notebook file
as their own (`swapped`); `write_per_student` gives every student their own variant of each
chapter (autograder.variants) and hands in the classmate's file for those, which the grader
must flag.

    cls = synthetic_class(source_paths, honest=45, copied_pairs=10, published_copies=5, seed=0)
    cls.answers["h03"]["ch1_base_models"]  # {grade_id: code}, cls.written[...], cls.planted
"""

from __future__ import annotations

import ast
import io
import keyword
import random
import re
import shutil
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import synthetic

from autograder.class_variants import ClassVariants, write_manifest
from autograder.course_folder import Course
from autograder.grader.submission import read_submission, read_submitted

NAMES = ["x", "arr", "vals", "data", "tmp", "res", "out", "buf", "acc", "cur", "seq", "mat",
         "prob", "score", "idx", "pos", "item", "elem", "part", "total", "count", "step",
         "w", "q", "r", "u", "h", "aux", "cache", "store", "fresh", "stuff"]
COMMENTS = ["# compute it", "# TODO tidy up", "# this took me a while", "# vectorised",
            "# see lecture", "# check shapes", "# careful with the off-by-one", "# done",
            "# normalise", "# works on the examples", "# my approach", "# helper values"]


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


def _asarray(rng, name, dtype):
    return f"{_pick(rng, 'np.asarray', 'np.array')}({name}, dtype={dtype})"


# One function per exercise: an honest student's own solution, drawn with `rng`.
def _make_pairs(rng):
    if rng.random() < 0.5:
        return ("def make_pairs(tokens, context_length):\n"
                f"    t = {_asarray(rng, 'tokens', _pick(rng, 'np.int64', 'int'))}\n"
                "    xs, ys = [], []\n"
                f"    for i in range({_pick(rng, 'len(t)', 't.shape[0]')} - context_length):\n"
                "        xs.append(t[i:i + context_length])\n"
                "        ys.append(t[i + 1:i + 1 + context_length])\n"
                f"    return np.{_pick(rng, 'array', 'stack')}(xs), "
                f"np.{_pick(rng, 'array', 'stack')}(ys)\n")
    return ("def make_pairs(tokens, context_length):\n"
            f"    t = {_asarray(rng, 'tokens', 'np.int64')}\n"
            "    n = len(t) - context_length\n"
            "    inputs = np.stack([t[i:i + context_length] for i in range(n)])\n"
            "    targets = np.stack([t[i + 1:i + context_length + 1] for i in range(n)])\n"
            "    return inputs, targets\n")


def _bigram_probs(rng):
    if rng.random() < 0.5:
        return ("def bigram_probs(tokens, vocab_size, k):\n"
                f"    counts = np.zeros((vocab_size, vocab_size)"
                f"{_pick(rng, '', ', dtype=float')})\n"
                "    for a, b in zip(tokens[:-1], tokens[1:]):\n"
                "        counts[a, b] += 1\n"
                "    smoothed = counts + k\n"
                "    return smoothed / smoothed.sum(axis=1"
                f"{_pick(rng, ', keepdims=True)', ')[:, None]')}\n")
    return ("def bigram_probs(tokens, vocab_size, k):\n"
            "    ids = list(tokens)\n"
            "    table = np.full((vocab_size, vocab_size), float(k))\n"
            "    for i in range(len(ids) - 1):\n"
            "        table[ids[i]][ids[i + 1]] += 1.0\n"
            "    row_totals = table.sum(axis=1)\n"
            "    return table / row_totals.reshape(-1, 1)\n")


def _bpe_merges(rng):
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            best = ("        ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))\n"
                    "        if not ranked:\n"
                    "            break\n"
                    "        (a, b), top = ranked[0]\n")
        else:
            best = ("        if not pairs:\n"
                    "            break\n"
                    "        a, b = min(pairs, key=lambda p: (-pairs[p], p))\n"
                    "        top = pairs[(a, b)]\n")
        return ("from collections import Counter\n\n\n"
                "def learn_merges(chunks, n_merges, first_id):\n"
                "    seqs = [list(c) for c in chunks]\n"
                "    learnt = []\n"
                "    for step in range(n_merges):\n"
                "        pairs = Counter()\n"
                "        for s in seqs:\n"
                f"            pairs.update(zip({_pick(rng, 's', 's[:-1]')}, s[1:]))\n"
                + best +
                "        if top < 2:\n"
                "            break\n"
                "        learnt.append((a, b))\n"
                f"        new_id = {_pick(rng, 'first_id + step', 'first_id + len(learnt) - 1')}\n"
                "        for n, s in enumerate(seqs):\n"
                "            out = []\n"
                "            for t in s:\n"
                "                if out and out[-1] == a and t == b:\n"
                "                    out[-1] = new_id\n"
                "                else:\n"
                "                    out.append(t)\n"
                "            seqs[n] = out\n"
                "    return learnt\n")
    at_pair = _pick(rng, "tuple(seq[i:i + 2]) == pair",
                    "i + 1 < len(seq) and (seq[i], seq[i + 1]) == pair")
    count = _pick(rng, "                freq[(seq[j], seq[j + 1])] = "
                       "freq.get((seq[j], seq[j + 1]), 0) + 1\n",
                  "                pair = (seq[j], seq[j + 1])\n"
                  "                freq[pair] = freq.get(pair, 0) + 1\n")
    best = _pick(rng, "min(p for p in freq if freq[p] == top)",
                 "sorted(p for p in freq if freq[p] == top)[0]")
    return ("def merge_pair(seq, pair, new_id):\n"
            "    result, i = [], 0\n"
            "    while i < len(seq):\n"
            f"        if {at_pair}:\n"
            "            result.append(new_id)\n"
            "            i += 2\n"
            "        else:\n"
            "            result.append(seq[i])\n"
            "            i += 1\n"
            "    return result\n\n\n"
            "def learn_merges(chunks, n_merges, first_id):\n"
            "    data = [list(c) for c in chunks]\n"
            "    merges = []\n"
            f"    {_pick(rng, 'while len(merges) < n_merges', 'for _ in range(n_merges)')}:\n"
            "        freq = {}\n"
            "        for seq in data:\n"
            "            for j in range(len(seq) - 1):\n"
            + count +
            "        if not freq:\n"
            "            break\n"
            "        top = max(freq.values())\n"
            "        if top < 2:\n"
            "            break\n"
            f"        best = {best}\n"
            "        data = [merge_pair(seq, best, first_id + len(merges)) for seq in data]\n"
            "        merges.append(best)\n"
            "    return merges\n")


def _sequence_log_prob(rng):
    if rng.random() < 0.5:
        return ("def sequence_log_prob(step_probs, tokens):\n"
                "    total = 0.0\n"
                "    for t in range(len(tokens) - 1):\n"
                "        row = step_probs[t]\n"
                "        total += np.log(row[tokens[t + 1]])\n"
                f"    return {_pick(rng, 'float(total)', 'total')}\n")
    return ("def sequence_log_prob(step_probs, tokens):\n"
            f"    p = {_asarray(rng, 'step_probs', 'float')}\n"
            "    nxt = np.asarray(tokens)[1:]\n"
            "    return float(np.log(p[np.arange(nxt.size), nxt]).sum())\n")


def _generate_greedy(rng):
    if rng.random() < 0.5:
        return ("def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):\n"
                "    ids = list(prompt)\n"
                "    start = len(ids)\n"
                "    while len(ids) - start < n_new:\n"
                "        nxt = int(next_token_probs(ids).argmax())\n"
                "        ids.append(nxt)\n"
                f"        if {_pick(rng, 'stop_id is not None and ', '')}nxt == stop_id:\n"
                "            break\n"
                "    return ids[start:]\n")
    return ("def generate_greedy(next_token_probs, prompt, n_new, stop_id=None):\n"
            "    out = []\n"
            "    for step in range(n_new):\n"
            "        probs = next_token_probs(list(prompt) + out)\n"
            "        best = max(range(len(probs)), key=lambda i: probs[i])\n"
            "        out = out + [best]\n"
            "        if best == stop_id:\n"
            "            return out\n"
            "    return out\n")


def _temperature_top_k(rng):
    if rng.random() < 0.5:
        return ("def apply_temperature_and_top_k(logits, temperature, k=None):\n"
                f"    scaled = {_asarray(rng, 'logits', 'float')} / temperature\n"
                "    if k is not None:\n"
                "        cutoff = np.partition(scaled, -k)[-k]\n"
                "        scaled[scaled < cutoff] = -np.inf\n"
                "    e = np.exp(scaled - np.max(scaled))\n"
                "    return e / np.sum(e)\n")
    return ("def apply_temperature_and_top_k(logits, temperature, k=None):\n"
            "    z = np.array(logits, dtype=float)\n"
            "    probs = np.exp((z - z.max()) / temperature)\n"
            "    probs /= probs.sum()\n"
            "    if k:\n"
            "        top = np.argsort(probs)[::-1][:k]\n"
            "        mask = np.zeros_like(probs)\n"
            "        mask[top] = 1\n"
            "        probs = probs * mask\n"
            "        probs = probs / probs.sum()\n"
            "    return probs\n")


def _top_p(rng):
    if rng.random() < 0.5:
        return ("def apply_top_p(probs, p):\n"
                f"    probs = {_asarray(rng, 'probs', 'float')}\n"
                "    result = np.zeros_like(probs)\n"
                "    so_far = 0.0\n"
                "    for i in sorted(range(len(probs)), key=lambda j: -probs[j]):\n"
                "        result[i] = probs[i]\n"
                "        so_far += probs[i]\n"
                "        if so_far >= p:\n"
                "            break\n"
                "    return result / result.sum()\n")
    return ("def apply_top_p(probs, p):\n"
            "    q = np.array(probs, dtype=np.float64)\n"
            "    order = np.argsort(q)[::-1]\n"
            "    cumulative = np.cumsum(q[order])\n"
            "    n_keep = int(np.searchsorted(cumulative, p) + 1)\n"
            "    keep = order[:n_keep]\n"
            "    out = np.zeros(q.shape)\n"
            "    out[keep] = q[keep]\n"
            "    return out / out.sum()\n")


def _losses(rng):
    first = ("def next_token_losses(logits, tokens):\n"
             f"    z = {_asarray(rng, 'logits', 'float')}[:-1]\n"
             "    z = z - z.max(axis=1, keepdims=True)\n"
             "    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))\n"
             "    gold = np.asarray(tokens)[1:]\n"
             "    return -logp[np.arange(len(gold)), gold]\n") if rng.random() < 0.5 else (
             "def next_token_losses(logits, tokens):\n"
             "    out = []\n"
             "    for t in range(1, len(tokens)):\n"
             "        row = log_softmax(np.asarray(logits[t - 1], dtype=float))\n"
             "        out.append(-row[tokens[t]])\n"
             "    return np.array(out)\n")
    total = _pick(rng, "next_token_losses(logits, tokens).sum()",
                  "np.sum(next_token_losses(logits, tokens))")
    second = ("def sequence_loss_from_logits(logits, tokens):\n"
              f"    return float({total})\n")
    third = ("def dataset_loss_from_logits(examples):\n"
             "    total = 0.0\n"
             "    for lg, tk in examples:\n"
             "        total += sequence_loss_from_logits(lg, tk)\n"
             "    return total\n") if rng.random() < 0.5 else (
             "def dataset_loss_from_logits(examples):\n"
             "    return float(np.sum([sequence_loss_from_logits(*ex) for ex in examples]))\n")
    parts = [first, second, third]
    return "\n\n".join(parts)


def _ce_grad(rng):
    if rng.random() < 0.5:
        return ("def softmax_ce_grad(logits, target):\n"
                f"    p = softmax({_asarray(rng, 'logits', 'float')})\n"
                "    onehot = np.zeros(len(p))\n"
                "    onehot[target] = 1\n"
                "    return p - onehot\n")
    return ("def softmax_ce_grad(logits, target):\n"
            "    e = np.exp(np.array(logits, dtype=float) - max(logits))\n"
            "    g = e / e.sum()\n"
            "    g[target] = g[target] - 1\n"
            "    return g\n")


def _perplexity(rng):
    if rng.random() < 0.5:
        return ("def perplexity_from_losses(losses):\n"
                "    losses = list(losses)\n"
                f"    return float(np.exp("
                f"{_pick(rng, 'sum(losses) / len(losses)', 'np.mean(losses)')}))\n")
    return ("def perplexity_from_losses(losses):\n"
            "    mean_loss = np.asarray(losses, dtype=float).mean()\n"
            "    return float(np.exp(mean_loss))\n")


def _sft_example(rng):
    if rng.random() < 0.5:
        return ("def make_sft_example(tokenizer, instruction, response):\n"
                "    head = [tokenizer.instruction_id] + tokenizer.encode(instruction) + "
                "[tokenizer.response_id]\n"
                "    tail = tokenizer.encode(response) + [tokenizer.eos_id]\n"
                "    seq = head + tail\n"
                "    flags = [0] * len(head) + [1] * len(tail)\n"
                "    return np.array(seq[:-1]), np.array(seq[1:]), np.array(flags[1:])\n")
    return ("def make_sft_example(tokenizer, instruction, response):\n"
            "    ids = [tokenizer.instruction_id]\n"
            "    ids.extend(tokenizer.encode(instruction))\n"
            "    ids.append(tokenizer.response_id)\n"
            "    n_prompt = len(ids)\n"
            "    ids.extend(tokenizer.encode(response))\n"
            "    ids.append(tokenizer.eos_id)\n"
            "    ids = np.asarray(ids, dtype=np.int64)\n"
            "    mask = (np.arange(1, len(ids)) >= n_prompt).astype(np.int64)\n"
            "    return ids[:-1], ids[1:], mask\n")


def _masked_nll(rng):
    if rng.random() < 0.5:
        return ("def masked_nll(logits, targets, mask):\n"
                f"    z = {_asarray(rng, 'logits', 'float')}\n"
                "    total, n = 0.0, 0\n"
                "    rows = zip(z.reshape(-1, z.shape[-1]), np.ravel(targets), np.ravel(mask))\n"
                "    for row, gold, keep in rows:\n"
                "        if keep:\n"
                "            total -= log_softmax(row)[gold]\n"
                "            n += 1\n"
                "    return float(total / n)\n")
    return ("def masked_nll(logits, targets, mask):\n"
            f"    lp = log_softmax({_asarray(rng, 'logits', 'float')}, axis=-1)\n"
            "    gold = np.asarray(targets)[..., None]\n"
            "    nll = -np.take_along_axis(lp, gold, axis=-1)[..., 0]\n"
            "    m = np.asarray(mask, dtype=bool)\n"
            "    return float(nll[m].mean())\n")


def _sgd_step(rng):
    if rng.random() < 0.5:
        return ("def one_sgd_step(logits, target, lr):\n"
                f"    z = {_asarray(rng, 'logits', 'float')}\n"
                "    grad = softmax(z)\n"
                "    grad[target] -= 1\n"
                "    z_new = z - lr * grad\n"
                "    return z_new, softmax(z_new)\n")
    return ("def one_sgd_step(logits, target, lr):\n"
            "    def probs_of(v):\n"
            "        e = np.exp(v - v.max())\n"
            "        return e / e.sum()\n"
            "    old = np.array(logits, dtype=float)\n"
            "    y = np.eye(len(old))[target]\n"
            "    updated = old - lr * (probs_of(old) - y)\n"
            "    return updated, probs_of(updated)\n")


def _training_step(rng):
    if rng.random() < 0.5:
        return ("def training_step(W, x, y, mask, lr):\n"
                f"    W = {_asarray(rng, 'W', 'float')}\n"
                "    grad = np.zeros_like(W)\n"
                "    total, count = 0.0, 0.0\n"
                "    for b in range(len(x)):\n"
                "        for t in range(len(x[b])):\n"
                "            if mask[b][t] == 0:\n"
                "                continue\n"
                "            p = softmax(W[x[b][t]])\n"
                "            total -= np.log(p[y[b][t]])\n"
                "            count += 1\n"
                "            p[y[b][t]] -= 1\n"
                "            grad[x[b][t]] += p\n"
                "    return W - lr * grad / count, float(total / count)\n")
    return ("def training_step(W, x, y, mask, lr):\n"
            "    W = np.array(W, dtype=float)\n"
            "    x, y, m = np.asarray(x), np.asarray(y), np.asarray(mask, dtype=float)\n"
            "    logits = W[x]\n"
            "    p = np.exp(logits - logits.max(axis=-1, keepdims=True))\n"
            "    p = p / p.sum(axis=-1, keepdims=True)\n"
            "    n = m.sum()\n"
            "    picked = p[np.arange(x.shape[0])[:, None], np.arange(x.shape[1])[None, :], y]\n"
            "    loss = -(np.log(picked) * m).sum() / n\n"
            "    target = np.eye(W.shape[1])[y]\n"
            "    d = (p - target) * m[:, :, None] / n\n"
            "    g = np.zeros(W.shape)\n"
            "    for row, tok in zip(d.reshape(-1, W.shape[1]), x.reshape(-1)):\n"
            "        g[tok] += row\n"
            "    return W - lr * g, float(loss)\n")


def _softmax_rows(rng, scores, weights, indent="    "):
    """Lines turning `scores` into `weights`, a softmax over the last axis, in one of the two
    ways chapters 1-4 taught (`indent`: the lines' indentation)."""
    if rng.random() < 0.5:
        lines = [f"{weights} = np.exp({scores} - {scores}.max(axis=-1, keepdims=True))",
                 f"{weights} = {weights} / {weights}.sum(axis=-1, keepdims=True)"]
    else:
        lines = [f"{scores} = {scores} - np.max({scores}, axis=-1, keepdims=True)",
                 f"{weights} = np.exp({scores}) / np.sum(np.exp({scores}), axis=-1, "
                 "keepdims=True)"]
    return "".join(f"{indent}{line}\n" for line in lines)


def _attention(rng):
    if rng.random() < 0.5:
        keys = _pick(rng, "k.swapaxes(-1, -2)", "np.swapaxes(k, -1, -2)",
                     "np.moveaxis(k, -1, -2)")
        if rng.random() < 0.5:
            mask = ("    future = np.triu(np.ones((n_q, n_k), dtype=bool), n_k - n_q + 1)\n"
                    "    scores = np.where(future, -np.inf, scores)\n")
        else:
            mask = ("    future = np.arange(n_k)[None, :] > np.arange(n_q)[:, None] + n_k - n_q\n"
                    "    scores[..., future] = -np.inf\n")
        return ("def attention(q, k, v):\n"
                f"    q, k, v = {_asarray(rng, 'q', 'float')}, np.asarray(k), np.asarray(v)\n"
                "    n_q, n_k, d = q.shape[-2], k.shape[-2], q.shape[-1]\n"
                f"    scores = q @ {keys} {_pick(rng, '/ np.sqrt(d)', '* d ** -0.5')}\n"
                + mask + _softmax_rows(rng, "scores", "weights") +
                f"    return {_pick(rng, 'weights @ v', 'np.matmul(weights, v)')}\n")
    if rng.random() < 0.5:
        dots = "np.einsum('...d,...jd->...j', q[..., i, :], k[..., :seen, :])"
        mixed = "np.einsum('...j,...jd->...d', a, v[..., :seen, :])"
    else:
        dots = "(q[..., i, None, :] * k[..., :seen, :]).sum(axis=-1)"
        mixed = "(a[..., :, None] * v[..., :seen, :]).sum(axis=-2)"
    return ("def attention(q, k, v):\n"
            f"    q = {_asarray(rng, 'q', 'float')}\n"
            "    k, v = np.asarray(k), np.asarray(v)\n"
            "    n_q, n_k = q.shape[-2], k.shape[-2]\n"
            f"    scale = {_pick(rng, 'np.sqrt(q.shape[-1])', 'q.shape[-1] ** 0.5')}\n"
            "    out = np.zeros(q.shape[:-1] + v.shape[-1:])\n"
            "    for i in range(n_q):\n"
            "        seen = n_k - n_q + i + 1\n"
            f"        s = {dots} / scale\n"
            + _softmax_rows(rng, "s", "a", indent="        ") +
            f"        out[..., i, :] = {mixed}\n"
            "    return out\n")


def _heads(rng):
    if rng.random() < 0.5:
        heads = _pick(rng, "np.reshape(x, (B, T, n_head, -1))",
                      "x.reshape(B, T, n_head, C // n_head)")
        split = ("def split_heads(x, n_head):\n"
                 f"    B, T, C = {_pick(rng, 'x.shape', 'np.shape(x)')}\n"
                 f"    heads = {heads}\n"
                 f"    return heads.{_pick(rng, 'transpose(0, 2, 1, 3)', 'swapaxes(1, 2)')}\n")
    else:
        split = ("def split_heads(x, n_head):\n"
                 "    x = np.asarray(x)\n"
                 "    width = x.shape[-1] // n_head\n"
                 "    heads = []\n"
                 "    for h in range(n_head):\n"
                 "        heads.append(x[:, :, h * width:(h + 1) * width])\n"
                 f"    return np.stack(heads, axis={_pick(rng, '1', '-3')})\n")
    if rng.random() < 0.5:
        merge = ("def merge_heads(y):\n"
                 "    B, H, T, d = y.shape\n"
                 f"    return {_pick(rng, 'y.transpose(0, 2, 1, 3)', 'np.swapaxes(y, 1, 2)')}"
                 f".reshape({_pick(rng, 'B, T, H * d', '(B, T, -1)')})\n")
    else:
        heads = _pick(rng, "y.shape[1]", "len(y[0])")
        merge = ("def merge_heads(y):\n"
                 "    y = np.asarray(y)\n"
                 f"    pieces = [y[:, h] for h in range({heads})]\n"
                 f"    return np.concatenate(pieces, axis={_pick(rng, '-1', '2')})\n")
    return split + "\n\n" + merge


def _layer_norm(rng):
    if rng.random() < 0.5:
        mean = _pick(rng, "x.mean(axis=-1, keepdims=True)", "np.mean(x, -1, keepdims=True)")
        var = _pick(rng, "x.var(axis=-1, keepdims=True)",
                    "((x - mu) ** 2).mean(axis=-1, keepdims=True)")
        return ("def layer_norm(x, g, b, eps=1e-5):\n"
                f"    mu = {mean}\n"
                f"    var = {var}\n"
                "    return g * (x - mu) / np.sqrt(var + eps) + b\n")
    return ("def layer_norm(x, g, b, eps=1e-5):\n"
            f"    x = {_asarray(rng, 'x', 'float')}\n"
            "    centred = x - np.mean(x, axis=-1, keepdims=True)\n"
            "    std = np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True) + eps)\n"
            "    return centred / std * g + b\n")


def _gelu(rng):
    if rng.random() < 0.5:
        scale = _pick(rng, "np.sqrt(2 / np.pi)", "(2 / np.pi) ** 0.5")
        return ("def gelu(x):\n"
                f"    return 0.5 * x * (1 + np.tanh({scale} * "
                f"(x + 0.044715 * {_pick(rng, 'x ** 3', 'np.power(x, 3)')})))\n")
    return ("import math\n\n\n"
            "def gelu(x):\n"
            f"    x = {_asarray(rng, 'x', 'float')}\n"
            "    c = math.sqrt(2.0 / math.pi)\n"
            "    inner = c * (x + 0.044715 * x * x * x)\n"
            "    return x * (1.0 + np.tanh(inner)) / 2.0\n")


def _block(rng):
    """transformer_block in one function, or with a helper function per sub-layer."""
    if rng.random() < 0.5:
        qkv = _pick(rng, "q, k, v = np.split(qkv, 3, axis=-1)",
                    "q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]")
        return ("def transformer_block(x, p, n_head):\n"
                "    C = x.shape[-1]\n"
                "    h = layer_norm(x, p['ln1.g'], p['ln1.b'])\n"
                "    qkv = h @ p['attn.w_qkv'] + p['attn.b_qkv']\n"
                f"    {qkv}\n"
                "    y = attention(split_heads(q, n_head), split_heads(k, n_head), "
                "split_heads(v, n_head))\n"
                "    x = x + merge_heads(y) @ p['attn.w_proj'] + p['attn.b_proj']\n"
                "    h = layer_norm(x, p['ln2.g'], p['ln2.b'])\n"
                "    h = gelu(h @ p['mlp.w_fc'] + p['mlp.b_fc'])\n"
                "    return x + h @ p['mlp.w_proj'] + p['mlp.b_proj']\n")
    return ("def attention_part(h, p, n_head):\n"
            "    width = h.shape[-1]\n"
            "    qkv = np.matmul(h, p['attn.w_qkv']) + p['attn.b_qkv']\n"
            "    heads = [split_heads(qkv[:, :, i * width:(i + 1) * width], n_head) "
            f"for i in {_pick(rng, 'range(3)', '(0, 1, 2)')}]\n"
            "    return np.matmul(merge_heads(attention(*heads)), p['attn.w_proj']) "
            "+ p['attn.b_proj']\n\n\n"
            "def mlp_part(h, p):\n"
            "    hidden = gelu(np.matmul(h, p['mlp.w_fc']) + p['mlp.b_fc'])\n"
            "    return np.matmul(hidden, p['mlp.w_proj']) + p['mlp.b_proj']\n\n\n"
            "def transformer_block(x, p, n_head):\n"
            "    x = x + attention_part(layer_norm(x, p['ln1.g'], p['ln1.b']), p, n_head)\n"
            "    x = x + mlp_part(layer_norm(x, p['ln2.g'], p['ln2.b']), p)\n"
            "    return x\n")


def _transformer_block(rng):
    """Exercise 5.3's cell: layer_norm, gelu and transformer_block, each its own way."""
    return "\n\n".join([_layer_norm(rng), _gelu(rng), _block(rng)])


def _forward(rng):
    if rng.random() < 0.5:
        count = _pick(rng, "len({name.split('.')[1] for name in weights "
                           "if name.startswith('h.')})",
                      "1 + max(int(name.split('.')[1]) for name in weights "
                      "if name.startswith('h.'))")
        prefix = _pick(rng, "'h.' + str(layer) + '.'", "'h.{}.'.format(layer)")
        positions = _pick(rng, ":T", "np.arange(T)")
        head = _pick(rng, "x @ weights['wte'].T", "np.matmul(x, weights['wte'].T)")
        return ("def forward_pass(ids, weights, n_head):\n"
                "    ids = np.asarray(ids)\n"
                f"    T = ids.shape[{_pick(rng, '1', '-1')}]\n"
                f"    x = weights['wte'][ids] + weights['wpe'][{positions}]\n"
                f"    n_layer = {count}\n"
                "    for layer in range(n_layer):\n"
                f"        prefix = {prefix}\n"
                "        block = {name[len(prefix):]: w for name, w in weights.items() "
                "if name.startswith(prefix)}\n"
                "        x = transformer_block(x, block, n_head)\n"
                "    x = layer_norm(x, weights['ln_f.g'], weights['ln_f.b'])\n"
                f"    return {head}\n")
    head = _pick(rng, "np.einsum('btc,vc->btv', h, wte)", "h @ wte.T")
    return ("def block_params(weights, i):\n"
            "    prefix = 'h.%d.' % i\n"
            "    return {key.split('.', 2)[2]: value for key, value in weights.items() "
            "if key.startswith(prefix)}\n\n\n"
            "def forward_pass(ids, weights, n_head):\n"
            f"    tokens = {_pick(rng, 'np.array(ids)', 'np.asarray(ids, dtype=np.int64)')}\n"
            "    wte, wpe = weights['wte'], weights['wpe']\n"
            "    x = wte[tokens] + wpe[np.arange(tokens.shape[-1])]\n"
            "    i = 0\n"
            "    while 'h.%d.ln1.g' % i in weights:\n"
            "        x = transformer_block(x, block_params(weights, i), n_head)\n"
            "        i += 1\n"
            "    h = layer_norm(x, weights['ln_f.g'], weights['ln_f.b'])\n"
            f"    return {head}\n")


HONEST = {"ex1_1_make_pairs": _make_pairs, "ex1_2_bigram_probs": _bigram_probs,
          "ex1_3_bpe_merges": _bpe_merges,
          "ex2_1_sequence_log_prob": _sequence_log_prob, "ex2_2_generate_greedy": _generate_greedy,
          "ex2_3_temperature_top_k": _temperature_top_k, "ex2_4_top_p": _top_p,
          "ex3_1_losses": _losses, "ex3_2_cross_entropy_grad": _ce_grad,
          "ex3_3_perplexity": _perplexity, "ex4_1_sft_example": _sft_example,
          "ex4_2_masked_nll": _masked_nll, "ex4_3_one_sgd_step": _sgd_step,
          "ex4_4_training_step": _training_step, "ex5_1_attention": _attention,
          "ex5_2_heads": _heads, "ex5_3_block": _transformer_block, "ex5_4_forward": _forward}

# A student's habits: equivalent ways of writing the same thing, each student with their own set
REWRITES = [
    (r"np\.asarray\(", "np.array("),
    (r"dtype=float\b", "dtype=np.float64"),
    (r"\brange\(((?:[^(),]|\([^()]*\))+)\)", r"range(0, \1)"),  # range(n) only, not range(a, b)
    (r"(\w+) \+= (.+)", r"\1 = \1 + \2"),
    (r"(\w+)\[(\w+)\]\[([^]]+)\]", r"\1[\2, \3]"),
    (r"\.sum\(\)", ".sum(axis=None)"),
    (r"if (\w+):$", r"if \1 is not None and \1 > 0:"),
    (r"^(\s+)return (?!\w+$)(.+)$", r"\1result = \2\n\1return result"),
]


def personal_style(code: str, rng: random.Random, every_habit: bool | None = None) -> str:
    """`code` written with a student's own habits: some of REWRITES applied, a debugging print
    left here and there. every_habit=True applies every rewrite and prints after every
    assignment, False none of them (the writer's code as it is); None draws them."""
    if every_habit is None:
        habits, prints = [rule for rule in REWRITES if rng.random() < 0.5], 0.25
    else:
        habits, prints = (REWRITES, 1.0) if every_habit else ([], 0.0)
    out = []
    for line in code.splitlines():
        for pattern, replacement in habits:
            line = re.sub(pattern, replacement, line)
        out.append(line)
        assigned = re.match(r"(\s+)(\w+) = ", line)
        if assigned and rng.random() < prints:
            out.append(f"{assigned.group(1)}print({assigned.group(2)!r}, {assigned.group(2)})")
    return "\n".join(out) + "\n"


OPENERS = ["I think", "In my view", "Basically", "The way I see it,", "My answer:", "So,",
           "Looking at the outputs,", "From the demo,", "As far as I can tell,", "Honestly,"]
SUBJECTS = ["the model", "the network", "a language model", "the base model", "our transformer",
            "the trained model", "this model", "the predictor"]
VERBS = ["learns", "picks up", "copies", "absorbs", "reproduces", "imitates", "memorises",
         "follows"]
OBJECTS = ["the patterns of its data", "whatever the corpus shows", "the statistics of the text",
           "the most common continuations", "the style of its examples", "frequent phrasings",
           "what came before in training", "surface regularities"]
REASONS = ["because the loss rewards it", "since that lowers the cross-entropy",
           "as the gradient pushes it there", "because nothing else is measured",
           "given how the objective is defined", "because that is what maximum likelihood does",
           "since the targets come from the text itself", "as each token is scored alone"]


def honest_text(rng: random.Random) -> str:
    """A written answer in a student's own words: sentences drawn slot by slot."""
    sentences = []
    for _ in range(rng.randint(3, 5)):
        sentences.append(f"{rng.choice(OPENERS)} {rng.choice(SUBJECTS)} {rng.choice(VERBS)} "
                         f"{rng.choice(OBJECTS)} {rng.choice(REASONS)}.")
    return " ".join(sentences)


def own_solution(grade_id: str, rng: random.Random, every_habit: bool | None = None
                 ) -> tuple[str, str]:
    """An honest student's solution of exercise `grade_id` (its HONEST writer's, drawn with
    `rng`), and the same solution as they hand it in: in their habits (`personal_style`), with
    their own names."""
    solution = HONEST[grade_id](rng)
    return solution, rename(personal_style(solution, rng, every_habit), rng)


def _local_names(code: str) -> set[str]:
    """Names a copier can rename without breaking the tests: every name bound inside a
    function (assignments, loop variables, the parameters of inner functions and lambdas), not
    the top-level functions' names nor their parameters (the exercise's signature: a check may
    pass an argument by its name, `stop_id=0`)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            found |= {arg.arg for arg in node.args.args}
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    found.add(inner.id)
    signatures = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    kept = {node.name for node in signatures} | {arg.arg for node in signatures
                                                 for arg in node.args.args}
    return {name for name in found - kept if not keyword.iskeyword(name)}


def rename(code: str, rng: random.Random) -> str:
    """`code` with its local names replaced by fresh ones (consistently)."""
    names = sorted(_local_names(code))
    fresh = rng.sample([n for n in NAMES if n not in names], k=min(len(names), len(NAMES)))
    mapping = {name: f"{new}_{rng.randint(1, 9)}" for name, new in zip(names, fresh, strict=False)}
    out, previous = [], ""
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        text = token.string
        if token.type == tokenize.NAME and previous != "." and text in mapping:
            text = mapping[text]
        out.append((token.type, text))
        previous = token.string
    return tokenize.untokenize(out)


def reorder_and_comment(code: str, rng: random.Random) -> str:
    """The top-level functions in a shuffled order, comments replaced by new ones."""
    lines = [line for line in code.splitlines() if not line.strip().startswith("#")]
    blocks, current = [], []
    for line in lines:
        if line.startswith("def ") and current:
            blocks.append(current)
            current = []
        current.append(line)
    blocks.append(current)
    rng.shuffle(blocks)
    out = []
    for block in blocks:
        for line in block:
            if line.strip() and rng.random() < 0.3:
                indent = re.match(r"\s*", line).group()
                out.append(indent + rng.choice(COMMENTS))
            out.append(line)
        out.append("")
    return "\n".join(out)


def disguise(code: str, rng: random.Random) -> str:
    """What a copier does: rename the locals, reorder the functions, change the comments."""
    return reorder_and_comment(rename(code, rng), rng)


def disguise_text(text: str, rng: random.Random) -> str:
    """A copied written answer with a few words changed and a sentence added."""
    words = text.split()
    for _ in range(max(1, len(words) // 12)):
        words[rng.randrange(len(words))] = rng.choice(["really", "clearly", "also", "just"])
    return " ".join(words) + " " + honest_text(rng).split(".")[0] + "."


@dataclass
class SyntheticClass:
    """answers[student][assignment] = {grade_id: code}; written[student][assignment] = text;
    planted = the pairs that copied ({frozenset of two students, or a student and None for
    the published solutions}); swapped = (student, the classmate whose notebook file they hand
    in as their own)."""

    answers: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    written: dict[str, dict[str, str]] = field(default_factory=dict)
    honest: list[str] = field(default_factory=list)
    planted: list[tuple[str, str | None]] = field(default_factory=list)
    swapped: list[tuple[str, str]] = field(default_factory=list)


def synthetic_class(sources: dict[str, str], honest: int = 45, copied_pairs: int = 10,
                    published_copies: int = 5, seed: int = 0,
                    swapped: int = 0) -> SyntheticClass:
    """A class over `sources` ({assignment: source notebook path}): `honest` students with their
    own solutions, `copied_pairs` of them each copied (disguised) by another student,
    `published_copies` students who hand in the published solutions, disguised, and `swapped`
    students who hand in the notebook of an honest classmate not otherwise copied."""
    rng = random.Random(seed)
    result = SyntheticClass()
    solutions = {a: synthetic.correct_answers(path) for a, path in sources.items()}
    for number in range(honest):
        student = f"h{number:02d}"
        result.honest.append(student)
        result.answers[student], result.written[student] = {}, {}
        for assignment, correct in solutions.items():
            result.answers[student][assignment] = {
                g: own_solution(g, rng)[1] if g in HONEST else code
                for g, code in correct.items()}
            result.written[student][assignment] = honest_text(rng)
    for number, original in enumerate(result.honest[:copied_pairs]):
        copier = f"c{number:02d}"
        result.answers[copier] = {a: {g: disguise(code, rng) if g in HONEST else code
                                      for g, code in answers.items()}
                                  for a, answers in result.answers[original].items()}
        result.written[copier] = {a: disguise_text(text, rng)
                                  for a, text in result.written[original].items()}
        result.planted.append((copier, original))
    for number in range(published_copies):
        copier = f"p{number:02d}"
        result.answers[copier] = {a: {g: disguise(code, rng) if g in HONEST else code
                                      for g, code in correct.items()}
                                  for a, correct in solutions.items()}
        result.written[copier] = {a: honest_text(rng) for a in solutions}
        result.planted.append((copier, None))
    for number, classmate in enumerate(result.honest[copied_pairs:copied_pairs + swapped]):
        student = f"s{number:02d}"
        result.answers[student] = result.answers[classmate]
        result.written[student] = result.written[classmate]
        result.swapped.append((student, classmate))
    return result


def write_per_student(root: Path, sources: dict[str, Path], made: SyntheticClass) -> Course:
    """A course folder at `root` whose every student has a variant of each chapter (the roster:
    the whole class, no course key) and has handed in their own file with their answers; a
    swapped student hands in their classmate's file instead."""
    for assignment, source in sources.items():
        shutil.copytree(source.parent, root / "source" / assignment)
    course = Course(root)
    write_manifest(course, sorted(made.answers), use_key=False)
    variants = ClassVariants(course)
    handed_in = dict(made.swapped)
    for assignment, source in sources.items():
        for student in made.answers:
            owner = handed_in.get(student, student)
            filled = synthetic.with_answers(
                synthetic.own_release(variants, owner, assignment, source.stem),
                made.answers[owner][assignment], written=made.written[owner][assignment])
            path = course.submission(student, assignment, source.stem)
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(filled, str(path))
    return course


def variant_flags(course: Course, assignment: str, students) -> dict[str, str]:
    """{student: the reason} of every submission the grader reads as not its student's own
    variant (what `llmf-grade grade` records as wrong_variant)."""
    variants, flags = ClassVariants(course), {}
    for student in students:
        plan = variants.plan(student, assignment, assignment)
        read = read_submission(read_submitted(course.submission(student, assignment,
                                                                assignment)), plan)
        if read.variant_problem:
            flags[student] = read.variant_problem
    return flags
