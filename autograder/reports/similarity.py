"""A class's similarity report: pairs of students whose answers are unusually alike.

Code answers (the exercise cells and the code cells a student added; not the multiple-choice
letters, which every right answer shares) are compared by token fingerprints with winnowing
(Schleimer, Wilkerson and Aiken, SIGMOD 2003: the method of MOSS and Dolos). Python's own
`tokenize` reads each cell; comments and blank lines are dropped, every identifier that is not a
keyword, a built-in or an attribute (`np.cumsum` keeps `cumsum`) becomes `v`, every number `0`
and every string `s`. So renamed variables, reordered functions, new comments and changed
whitespace change no fingerprint. Written answers are compared as text: shingles of
`WORD_SHINGLE` lower-cased words. Before comparing, the fingerprints of the starter text (the
classroom edition's answer cells) are taken away, and so are those that more than
`COMMON_SHARE` of the class share, a majority (the idiom everyone writes says nothing about
copying; what a minority shares, however large, may).

What is compared costs work linear in the class, however alike its answers: students whose kept
fingerprints are the same (a copy handed in by many) are compared once, as the first of them,
and each of the others is reported with that first one; and a fingerprint that more than
`MAX_HOLDERS` distinct answers hold (crowded) makes no pairs, so no fingerprint makes more than
MAX_HOLDERS² / 2 pairs (groups of 20 alike students in a class of 200 made every one of their
pairs for every fingerprint: 1,900 pairs, each on the page). The students crowded fingerprints
link, a ring of copiers that each disguised one answer their own way, are found by `groups.py`
in linear work and reported as groups: who, whom each is most alike, and what they share. The
page says all three.

A pair's score, per kind (code, text), is the Dice coefficient of its two fingerprint sets,
2 |A ∩ B| / (|A| + |B|): 1.0 for the same answers, near 0 for unrelated ones; only the shared
fingerprints that are not crowded count in A ∩ B (a crowded one counts in a group's score).
Every submission is also compared with the instructor's solutions (the source notebook's answer
cells and model answers: they are published), under the name `PUBLISHED`. Pairs whose higher
score reaches the threshold are reported, ranked, with their matching lines side by side.

Whatever a student wrote is read within bounds (`MAX_CELL_CHARS` per cell, `MAX_DOCUMENT_CHARS`
per student and kind) and only ever shown HTML-escaped, with every character that would hide,
reorder or break what is shown (a bidi override, a zero-width space, U+2028) written as its
escape. A document is cut into lines as Python's parser cuts code (`syntax.source_lines`), for
its tokens' line numbers and for the page alike, so the lines marked are the lines that match.

>>> report = similarity_report(Course("course"), "ch3_pretraining_objective")  # doctest: +SKIP
>>> report.pairs[0].students, report.pairs[0].score                              # doctest: +SKIP
(('ada', 'bob'), 0.97)
"""

from __future__ import annotations

import builtins
import functools
import json
import keyword
import re
import tokenize
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from html import escape
from pathlib import Path

import nbformat
import numpy as np

from autograder.course_folder import Course
from autograder.files import atomic_write, visible
from autograder.grader.plan import Plan, read_plan, release_version, role, without_solution_markers
from autograder.grader.submission import read_submission, read_submitted
from autograder.grader.syntax import source_lines
from autograder.reports.groups import Group, Member, linked_groups
from autograder.reports.spreadsheet import write_csv

CODE_GRAM = 7  # tokens per fingerprinted k-gram of code
WINDOW = 4  # winnowing window: any match of CODE_GRAM + WINDOW - 1 tokens is always found
WORD_SHINGLE = 5  # words per shingle of a written answer
COMMON_SHARE = 0.5  # fingerprints held by more than this share of the class are ignored
MIN_COMMON = 4  # ... but only when at least this many students share them
MAX_HOLDERS = 20  # fingerprints held by more distinct answers are left out too
THRESHOLD = 0.85  # the default score from which a pair is reported (scripts/bench_similarity.py)
MAX_CELL_CHARS = 20_000
MAX_DOCUMENT_CHARS = 100_000
SHOWN_LINES = 60  # lines of each side shown on the page per pair and kind
SHOWN_CHARS = 300  # characters shown of each line
SHOWN_SAME = 50  # students named of a group who handed in the same answers
PUBLISHED = "published/solutions"  # a "/": no student id (a folder's name) can be it
KINDS = ("code", "text")
KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins))


@dataclass
class Document:
    """One student's answers of one kind: their lines, and fingerprint -> the lines it covers."""

    lines: list[str]
    fingerprints: dict[int, list[tuple[int, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Pair:
    """Two students (or a student and PUBLISHED), their score per kind, and the lines that match
    on each side ({kind: (lines of the first, lines of the second)})."""

    students: tuple[str, str]
    scores: dict[str, float]
    matched: dict[str, tuple[set[int], set[int]]]

    @property
    def score(self) -> float:
        return max(self.scores.values())


@dataclass
class Report:
    """The pairs at or above the threshold, best first, and every student's highest score."""

    assignment: str
    threshold: float
    pairs: list[Pair]
    highest: dict[str, tuple[float, str]]  # student -> (highest score, with whom)
    documents: dict[str, dict[str, Document]]  # kind -> student -> document
    # the first of each group of students whose kept fingerprints are the same -> the others
    same: dict[str, list[str]] = field(default_factory=dict)
    crowded: int = 0  # fingerprints held by more than MAX_HOLDERS answers: they make no pairs
    groups: list[Group] = field(default_factory=list)  # the students they link (groups.py)


def code_tokens(code: str) -> list[tuple[str, int]]:
    """(normalised token, 0-based line) of Python code, comments and layout dropped.

    Code that `tokenize` cannot read (a syntax error) is read word by word instead.
    """
    tokens: list[tuple[str, int]] = []
    previous = ""
    lines = source_lines(code)
    try:
        for token in tokenize.generate_tokens(functools.partial(next, iter(lines), "")):
            kind, text = token.type, token.string
            if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER, tokenize.ENCODING):
                continue
            if kind == tokenize.NAME:
                text = text if text in KEPT_NAMES or previous == "." else "v"
            elif kind == tokenize.NUMBER:
                text = "0"
            elif kind == tokenize.STRING or tokenize.tok_name[kind].startswith("FSTRING"):
                text = "s"
            elif kind == tokenize.NEWLINE:
                text = ";"
            elif kind in (tokenize.INDENT, tokenize.DEDENT):
                text = "{" if kind == tokenize.INDENT else "}"
            tokens.append((text, token.start[0] - 1))
            previous = token.string
    except (tokenize.TokenError, SyntaxError):
        tokens = [(word, number) for number, line in enumerate(lines)
                  for word in re.findall(r"\w+|[^\w\s]", line.split("#")[0])]
    return tokens


def word_tokens(text: str) -> list[tuple[str, int]]:
    """(lower-cased word, 0-based line) of prose."""
    return [(word.lower(), number) for number, line in enumerate(source_lines(text))
            for word in re.findall(r"\w+", line)]


def fingerprints(tokens: list[tuple[str, int]], gram: int, window: int
                 ) -> dict[int, list[tuple[int, int]]]:
    """Winnowed fingerprints of a token sequence: the hash of each `gram` consecutive tokens,
    then in every `window` consecutive hashes the smallest (the rightmost of equals) is kept.
    Returns {hash: [(first line, last line) of each k-gram with it]}."""
    hashes = [(zlib.crc32("\x1f".join(t for t, _ in tokens[i:i + gram]).encode()),
               tokens[i][1], tokens[i + gram - 1][1]) for i in range(len(tokens) - gram + 1)]
    chosen: dict[int, list[tuple[int, int]]] = {}
    last = -1
    for start in range(max(len(hashes) - window + 1, 1 if hashes else 0)):
        stop = min(start + window, len(hashes))
        best = min(range(start, stop), key=lambda i: (hashes[i][0], -i))
        if best != last:
            value, first, end = hashes[best]
            chosen.setdefault(value, []).append((first, end))
            last = best
    return chosen


def document(parts: list[str], kind: str) -> Document:
    """A student's document of `kind` ("code" or "text") from their answer texts, bounded."""
    text = ""
    for part in parts:
        part = part[:MAX_CELL_CHARS]
        if len(text) + len(part) > MAX_DOCUMENT_CHARS:
            break
        text += part.rstrip("\n") + "\n\n"
    lines = [line.rstrip("\r\n") for line in source_lines(text)]
    if kind == "code":
        found = fingerprints(code_tokens(text), CODE_GRAM, WINDOW)
    else:
        found = fingerprints(word_tokens(text), WORD_SHINGLE, 1)
    return Document(lines, found)


def _quiz_answer_ids(plan: Plan) -> set[str]:
    """Answer cells of multiple-choice questions: those right before a test with a choice."""
    steps = list(plan.steps)
    return {steps[i - 1].grade_id for i, step in enumerate(steps)
            if step.kind == "test" and step.choice_variables and i and
            steps[i - 1].kind == "answer"}


@dataclass(frozen=True)
class _SourceTexts:
    """What one source notebook gives: its plan, the code answers compared, and the starter
    and published (solution) texts of each kind."""

    plan: Plan
    code_ids: tuple[str, ...]
    starter: dict[str, list[str]]
    published: dict[str, list[str]]

    @classmethod
    def read(cls, source: Path) -> _SourceTexts:
        plan = read_plan(source)
        quiz = _quiz_answer_ids(plan)
        answers = [s for s in plan.steps if s.kind == "answer" and s.grade_id not in quiz]
        code_ids = tuple(step.grade_id for step in answers)
        notebook = nbformat.read(source, as_version=4)
        released = release_version(notebook)
        starter_code = [c.source for c in released.cells if role(c).get("grade_id") in code_ids]
        model_answers = [c.source for c in notebook.cells
                         if role(c).get("grade_id") in plan.written]
        return cls(plan, code_ids,
                   {"code": starter_code, "text": [text for _, text in plan.written.values()]},
                   {"code": [without_solution_markers(s.code) for s in answers],
                    "text": model_answers})


def _student_texts(course: Course, assignment: str, student: str,
                   sources: dict[str, _SourceTexts]) -> dict[str, list[str]] | None:
    """A student's code and written answers over the assignment's notebooks, or None if they
    handed in nothing readable."""
    texts: dict[str, list[str]] = {"code": [], "text": []}
    found = False
    for notebook, facts in sources.items():
        raw = read_submitted(course.submission(student, assignment, notebook))
        submission = read_submission(raw, facts.plan)
        if submission.problem is not None:
            continue
        found = True
        texts["code"] += [submission.answers.get(g, "") for g in facts.code_ids]
        texts["code"] += [code for _, code in submission.added]
        texts["text"] += [submission.written.get(g, "") for g in facts.plan.written]
    return texts if found else None


def covered_lines(doc: Document, values: frozenset[int] | set[int]) -> set[int]:
    """The lines of `doc` that its fingerprints among `values` cover."""
    return {line for value in values & doc.fingerprints.keys()
            for first, last in doc.fingerprints[value] for line in range(first, last + 1)}


def _matched_lines(a: Document, b: Document, shared: set[int]) -> tuple[set[int], set[int]]:
    return covered_lines(a, shared), covered_lines(b, shared)


def same_answers(names: list[str], kept: dict[str, dict[str, frozenset[int]]]
                 ) -> dict[str, list[str]]:
    """{the first of each group of students whose kept fingerprints of every kind are the same
    and not empty: the others}, in `names`' order: hashed once each, linear in the class."""
    groups: dict[tuple, list[str]] = {}
    for name in names:
        sets = tuple(kept[kind][name] for kind in KINDS)
        if any(sets):
            groups.setdefault(sets, []).append(name)
    return {group[0]: group[1:] for group in groups.values() if len(group) > 1}


def crowded_fingerprints(kept: dict[str, frozenset[int]]) -> frozenset[int]:
    """The fingerprints more than MAX_HOLDERS of the documents `kept` hold."""
    holders = Counter(value for values in kept.values() for value in values)
    return frozenset(value for value, count in holders.items() if count > MAX_HOLDERS)


def shared_counts(order: list[str], kept: dict[str, frozenset[int]]
                  ) -> Counter[tuple[str, str]]:
    """{(a, b): how many fingerprints the documents a and b share} for every pair, a before b
    in `order`, that shares any: every document's fingerprints sorted together once (16 bytes
    each), then each fingerprint held by several gives its pairs, so the work is the
    fingerprints plus the pairs each one makes, never the pairs that share nothing (comparing
    every pair's sets took 4.2 / 16.5 s for 100 / 200 students of 95,000 characters of code)."""
    sizes = [len(kept[name]) for name in order]
    values = np.fromiter((value for name in order for value in kept[name]), np.int64, sum(sizes))
    owners = np.repeat(np.arange(len(order)), sizes)
    by_value = np.argsort(values, kind="stable")  # a fingerprint's holders stay in `order`
    values, owners = values[by_value], owners[by_value]
    bounds = np.flatnonzero(np.diff(values, prepend=-1, append=-1))
    counts: Counter[tuple[str, str]] = Counter()
    for first, last in zip(bounds[:-1], bounds[1:], strict=True):
        if last - first > 1:
            held = [order[i] for i in owners[first:last]]
            counts.update((a, b) for i, a in enumerate(held) for b in held[i + 1:])
    return counts


def similarity_report(course: Course, assignment: str, threshold: float | None = None
                      ) -> Report:
    """Read the assignment's submissions and sources, and `compare` them: every pair of
    students, and each with PUBLISHED, reported from `threshold` (default THRESHOLD)."""
    threshold = THRESHOLD if threshold is None else threshold
    sources = {nb: _SourceTexts.read(course.source(assignment, nb))
               for nb in course.notebooks(assignment)}
    documents: dict[str, dict[str, Document]] = {kind: {} for kind in KINDS}
    for student in course.students():  # each student's texts made documents, then let go
        texts = _student_texts(course, assignment, student, sources)
        for kind in KINDS if texts is not None else ():
            documents[kind][student] = document(texts[kind], kind)
    starter = {}
    for kind in KINDS:
        starter[kind] = document([t for f in sources.values() for t in f.starter[kind]], kind)
        documents[kind][PUBLISHED] = document(
            [t for f in sources.values() for t in f.published[kind]], kind)
    return compare(assignment, documents, starter, threshold)


def compare(assignment: str, documents: dict[str, dict[str, Document]],
            starter: dict[str, Document], threshold: float) -> Report:
    """The report on `documents` ({kind: {student or PUBLISHED: document}}), the starter's
    fingerprints (`starter`, per kind) and those more than COMMON_SHARE of the students hold
    left out: the pairs scoring at least `threshold`, and the groups linked through the
    fingerprints more than MAX_HOLDERS of the compared answers hold (`groups.py`).

    A pair's score is the Dice coefficient of the fingerprints its two students keep, but
    counts as shared only those held by at most MAX_HOLDERS answers (so no fingerprint makes
    more pairs than that): never more than the whole Dice coefficient, and equal to it unless
    the two share a crowded fingerprint, which `groups.py` weighs whole. A pair that shares no
    such fingerprint scores 0 and is never reported."""
    names = sorted(name for name in documents["code"] if name != PUBLISHED)
    limit = max(MIN_COMMON, COMMON_SHARE * len(names))
    kept: dict[str, dict[str, frozenset[int]]] = {}
    for kind in KINDS:
        share = Counter(value for name in names for value in documents[kind][name].fingerprints)
        ignored = set(starter[kind].fingerprints) | {v for v, n in share.items() if n > limit}
        kept[kind] = {name: frozenset(doc.fingerprints) - ignored
                      for name, doc in documents[kind].items()}
    same = same_answers(names, kept)
    others = {name for group in same.values() for name in group}
    compared = [name for name in names if name not in others] + [PUBLISHED]
    crowded, groups, counts = 0, [], {}
    for kind in KINDS:
        left_out = crowded_fingerprints({name: kept[kind][name] for name in compared})
        counts[kind] = shared_counts(compared, {name: kept[kind][name] - left_out
                                                for name in compared})
        unreported = Counter({(a, b): count for (a, b), count in counts[kind].items()
                              if pair_score(count, kept[kind][a], kept[kind][b]) < threshold})
        groups += [with_same(group, same) for group in linked_groups(
            kind, compared, kept[kind], left_out, unreported, threshold, MAX_HOLDERS)]
        crowded += len(left_out)
    pairs, highest = [], {s: (0.0, "") for s in names}

    def raise_highest(student: str, score: float, other: str) -> None:
        if student in highest and score > highest[student][0]:
            highest[student] = (score, other)

    def add(a: str, b: str, scores: dict[str, float]) -> None:
        score = max(scores.values())
        if not score:
            return
        raise_highest(a, score, b)
        raise_highest(b, score, a)
        if score >= threshold:
            matched = {kind: _matched_lines(documents[kind][a], documents[kind][b],
                                            kept[kind][a] & kept[kind][b]) for kind in KINDS}
            pairs.append(Pair((a, b), scores, matched))

    for a, b in sorted(set().union(*counts.values())):
        add(a, b, {kind: pair_score(counts[kind][a, b], kept[kind][a], kept[kind][b])
                   for kind in KINDS})
    for first, group in same.items():
        for other in group:
            add(first, other, {kind: 1.0 if kept[kind][first] else 0.0 for kind in KINDS})
    for group in groups:
        for member in group.members:
            raise_highest(member.student, member.score, member.alike)
    pairs.sort(key=lambda pair: (-pair.score, pair.students))
    return Report(assignment, threshold, pairs, highest, documents, same, crowded, groups)


def pair_score(shared: int, first: frozenset[int], second: frozenset[int]) -> float:
    """A pair's score: 2 `shared` / (|first| + |second|), to 3 places (0 when none shared)."""
    return round(2 * shared / (len(first) + len(second)), 3) if shared else 0.0


def with_same(group: Group, same: dict[str, list[str]]) -> Group:
    """`group` with, after each member, the students who handed in the same answers as they
    did (`same_answers`), each most alike them at 1.0."""
    members = []
    for member in group.members:
        members.append(member)
        members += [Member(other, 1.0, member.student) for other in same.get(member.student, ())]
    return replace(group, members=tuple(members))


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; line-height: 1.4; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: .3rem .6rem;
text-align: left; vertical-align: top; } .side { display: grid; gap: 1rem;
grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); } pre { background: #f6f6f6; margin: 0;
padding: .5rem; white-space: pre-wrap; overflow-wrap: anywhere; }
mark { background: #ffe08a; } h3 { margin-top: 2rem; }
"""


def visible_html(text: str) -> str:
    """Student text as the page shows it: escaped, and every character that would hide or
    reorder what is shown written as its escape (`files.visible`)."""
    return escape(visible(text))


def _side(doc: Document, lines: set[int]) -> str:
    """A document's lines around its matches, matching lines marked, all escaped."""
    shown = sorted(lines)[:SHOWN_LINES]
    if not shown:
        return "<pre>(no matching lines)</pre>"
    out, previous = [], None
    for number in shown:
        if previous is not None and number > previous + 1:
            out.append("…")
        line = doc.lines[number] if number < len(doc.lines) else ""
        text = visible_html(line[:SHOWN_CHARS]) + ("…" if len(line) > SHOWN_CHARS else "")
        out.append(f"<mark>{text}</mark>")
        previous = number
    return "<pre>" + "\n".join(out) + "</pre>"


def _groups_html(report: Report) -> str:
    """The report's groups: each member with the classmate they are most alike and the score,
    and the first member's lines that hold the group's core, marked."""
    out = []
    for number, group in enumerate(report.groups, 1):
        first = group.members[0].student
        doc = report.documents[group.kind][first]
        rows = "".join(f"<tr><td>{visible_html(m.student)}</td><td>{visible_html(m.alike)}</td>"
                       f"<td>{m.score:.2f}</td></tr>" for m in group.members)
        out.append(
            f"<h3 id='group-{number}'>Group {number}: "
            f"{'code answers' if group.kind == 'code' else 'written answers'} of "
            f"{len(group.members)} students</h3><p>{len(group.core)} fingerprint(s) held by at "
            f"least half of them, on these lines of {visible_html(first)}'s:</p>"
            f"{_side(doc, covered_lines(doc, group.core))}<table><tr><th>student</th>"
            f"<th>most alike</th><th>score</th></tr>{rows}</table>")
    return "".join(out)


def html_page(report: Report) -> str:
    """The report as one self-contained HTML page (every student text escaped)."""
    rows = "".join(
        f"<tr><td>{rank}</td><td>{visible_html(a)}</td><td>{visible_html(b)}</td>"
        f"<td>{pair.scores['code']:.2f}</td><td>{pair.scores['text']:.2f}</td></tr>"
        for rank, pair in enumerate(report.pairs, 1) for a, b in [pair.students])
    details = []
    for rank, pair in enumerate(report.pairs, 1):
        a, b = pair.students
        details.append(f"<h3 id='pair-{rank}'>{rank}. {visible_html(a)} and "
                       f"{visible_html(b)}</h3>")
        for kind in KINDS:
            if pair.scores[kind] == 0:
                continue
            first, second = pair.matched[kind]
            docs = report.documents[kind]
            details.append(
                f"<p>{'code answers' if kind == 'code' else 'written answers'}: "
                f"{pair.scores[kind]:.2f}</p><div class='side'><div><b>{visible_html(a)}</b>"
                f"{_side(docs[a], first)}</div><div><b>{visible_html(b)}</b>"
                f"{_side(docs[b], second)}</div></div>")
    empty = "" if report.pairs else "<p>No pair reaches the threshold.</p>"
    same = "".join(
        f"<li>{visible_html(first)} and {len(group)} more: "
        f"{', '.join(visible_html(other) for other in group[:SHOWN_SAME])}"
        f"{' …' if len(group) > SHOWN_SAME else ''}</li>" for first, group in report.same.items())
    if same:
        same = ("<p>Students who handed in the same answers (the same fingerprints once the "
                "starter and common ones are left out) are compared once, as the first of them: "
                "each other one is listed with the first, and the first's pairs stand for them "
                f"all.</p><ul>{same}</ul>")
    if report.crowded:
        same += (f"<p>{report.crowded} fingerprint(s) held by more than {MAX_HOLDERS} "
                 "different answers make no pairs (so that no fingerprint makes more pairs "
                 "than that); the students whose answers are alike through them are the "
                 f"groups below.</p>{_groups_html(report)}")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Similarity: "
        f"{escape(report.assignment)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Similarity report: {escape(report.assignment)}</h1>"
        f"<p>Pairs whose code or written answers score at least {report.threshold:.2f} "
        "(Dice coefficient of winnowed token fingerprints; starter code and what more than "
        f"{COMMON_SHARE:.0%} of the class share left out). {escape(PUBLISHED)} are the "
        "instructor's solutions. A high score is a reason to look, not a verdict.</p>"
        f"{same}{empty}<table><tr><th>#</th><th>student</th><th>student</th><th>code</th>"
        f"<th>text</th></tr>{rows}</table>{''.join(details)}</body></html>")


def report_folder(course: Course) -> Path:
    return course.root / "similarity"


def write_report(course: Course, report: Report) -> tuple[Path, Path]:
    """Write the page, the CSV of reported pairs, the CSV of the groups' members and every
    student's highest score (read by `llmf-grade export`). Returns (page, csv of pairs)."""
    folder = report_folder(course)
    rows = [["rank", "student_a", "student_b", "score", "code", "text"]]
    rows += [[rank, *pair.students, pair.score, pair.scores["code"], pair.scores["text"]]
             for rank, pair in enumerate(report.pairs, 1)]
    page = atomic_write(folder / f"{report.assignment}.html", html_page(report))
    table = write_csv(folder / f"{report.assignment}.csv", rows)
    members = [["group", "kind", "student", "most_alike", "score"]]
    members += [[number, group.kind, m.student, m.alike, m.score]
                for number, group in enumerate(report.groups, 1) for m in group.members]
    write_csv(folder / f"{report.assignment}.groups.csv", members)
    atomic_write(folder / f"{report.assignment}.highest.json", json.dumps(report.highest))
    return page, table


def highest_similarity(course: Course, assignment: str) -> dict[str, float]:
    """Each student's highest score from the last `llmf-grade similarity` of the assignment
    ({} when it was not run or its file cannot be read)."""
    try:
        data = json.loads((report_folder(course) / f"{assignment}.highest.json").read_text())
        return {str(student): float(score) for student, (score, _) in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}
