"""A student's variant of a chapter: a deterministic transformation of a notebook by a seed.

The instructor's source notebook stays the one source; a variant rewrites three things in it,
each a pure function of the variant's seed (64 bits, from the course key, the student id and the
notebook: autograder.class_variants):

- **Quiz options in a per-student order.** Every multiple-choice question whose options are
  lettered ("A", "B", ...) gets its option texts in an order drawn for it, so "C" means
  different things to two students. In a source notebook the answer, the explanations and the
  answer cell's `answer_<id> = "B"` follow the options; a classroom edition (no key) has only
  the options to reorder. True/False questions keep their order.
- **Numbers drawn per student.** The source notebook's metadata may hold tables,
  `metadata.llmf_variants = {name: {"cells": [cell ids], "draw": {parameter: [values]},
  "text": {literal: template}}}`: in the named cells every occurrence of a literal (a number
  as the source writes it, matched as a whole number) becomes its template rendered with this
  variant's draw of the parameters, e.g. `"2.526": "{-ln(p1) - ln(p2) - ln(p3):.3f}"`. The
  first value of every parameter is the source's own, so rendering the first values gives the
  source's text back (a test holds every table to it). Templates are arithmetic on the
  parameters (`+ - * / **`, `ln exp sqrt log2 abs round min max`), evaluated without `eval`.
- **Hidden-test inputs drawn per student.** In the hidden blocks of test cells (source only:
  no edition has them), every `default_rng(<whole number>)` gets a seed drawn from the variant
  and that number, so hidden inputs made by a seeded generator differ per student while inputs
  written out (edge cases) stay as written.

`apply_variant` does the same to a source notebook and to its classroom edition (whose quiz
cells are `editions.classroom_quiz_source`), so the grader can recompute from the source what
each student was given: `variant_signature` is what of the notebook a variant decides, by cell
id, as the student's copy shows it.

>>> permuted(7, "q1_1", ["A", "B", "C"]) == permuted(7, "q1_1", ["A", "B", "C"])
True
>>> render_template("{-ln(p):.3f}", {"p": 0.5})
'0.693'
"""

from __future__ import annotations

import ast
import copy
import hashlib
import math
import operator
import re
from dataclasses import dataclass

from autograder.editions import classroom_quiz_source, classroom_quiz_text, is_quiz_cell
from autograder.grader.plan import BEGIN_HIDDEN, END_HIDDEN, VARIANT_STAMP, role, text_digest
from autograder.quiz_keys import QUIZ_CLASS, literal_arguments, quiz_call

TABLES = "llmf_variants"  # the source notebook's metadata key of its number tables
SEEDED_GENERATOR = re.compile(r"default_rng\(([0-9]+)\)")
FUNCTIONS = {"ln": math.log, "exp": math.exp, "sqrt": math.sqrt, "log2": math.log2,
             "abs": abs, "round": round, "min": min, "max": max}
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
             ast.Div: operator.truediv, ast.Pow: operator.pow, ast.USub: operator.neg,
             ast.UAdd: operator.pos}


class VariantError(ValueError):
    """A variant table or quiz cannot make variants (an instructor's mistake, said in words)."""


@dataclass(frozen=True)
class Variant:
    """One student's variant of one notebook: `seed` decides every draw."""

    student: str
    seed: int

    @property
    def mark(self) -> str:
        """A short digest naming the variant (written in the notebook's metadata)."""
        return hashlib.sha256(f"llmf-variant:{self.seed}".encode()).hexdigest()[:16]


def _number(seed: int, label: str) -> int:
    """A 64-bit number drawn from `seed` for the purpose `label` (stable across Pythons)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{label}".encode()).digest()[:8], "big")


def permuted(seed: int, label: str, keys: list[str]) -> list[str]:
    """`keys` in the order the variant `seed` draws for `label` (a permutation of them)."""
    return sorted(keys, key=lambda key: _number(seed, f"{label}:{key}"))


def _evaluate(node: ast.AST, values: dict):
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in values:
        return values[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        return OPERATORS[type(node.op)](_evaluate(node.left, values),
                                        _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp) and type(node.op) in OPERATORS:
        return OPERATORS[type(node.op)](_evaluate(node.operand, values))
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS and not node.keywords):
        return FUNCTIONS[node.func.id](*(_evaluate(arg, values) for arg in node.args))
    raise VariantError(f"a variant template may use numbers, the table's parameters "
                       f"{sorted(values)}, + - * / ** and {sorted(FUNCTIONS)}; got "
                       f"{ast.unparse(node)!r}")


def render_template(template: str, values: dict) -> str:
    """A template `{expression:format}` (or `{expression}`) rendered with the parameters."""
    if not (template.startswith("{") and template.endswith("}")):
        raise VariantError(f"a variant template is one {{expression:format}}, got {template!r}")
    expression, _, spec = template[1:-1].partition(":")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise VariantError(f"variant template {template!r} is not an expression") from None
    return format(_evaluate(tree.body, values), spec or "g")


def _literal_pattern(literals) -> re.Pattern:
    """One pattern for every literal, each matched as a whole number (not inside a longer one),
    longest first so that a single pass replaces each occurrence once."""
    alternatives = "|".join(re.escape(text) for text in sorted(literals, key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Za-z_.])(?:{alternatives})(?![0-9A-Za-z_]|\.[0-9])")


def drawn_values(seed: int | None, name: str, table: dict) -> dict:
    """The table's parameters as this variant draws them (the first values when seed is None:
    the source's own)."""
    draw = table.get("draw", {})
    if not draw or any(not isinstance(v, list) or not v for v in draw.values()):
        raise VariantError(f"variant table {name!r}: 'draw' must give each parameter a "
                           "non-empty list of values, the source's own first")
    return {parameter: values[0 if seed is None else _number(seed, f"{name}:{parameter}")
                              % len(values)]
            for parameter, values in draw.items()}


def render_table(text: str, name: str, table: dict, seed: int | None) -> str:
    """`text` with the table's literals replaced by their templates, drawn for `seed`."""
    values = drawn_values(seed, name, table)
    rendered = {literal: render_template(template, values)
                for literal, template in table.get("text", {}).items()}
    if not rendered:
        return text
    return _literal_pattern(rendered).sub(lambda found: rendered[found[0]], text)


def _reseeded_hidden(code: str, seed: int) -> str:
    """A test cell's code with each `default_rng(N)` of its hidden block drawn for `seed`."""
    lines, inside = [], False
    for line in code.splitlines(keepends=True):
        marker = line.strip()
        inside = (inside or marker == BEGIN_HIDDEN) and marker != END_HIDDEN
        if inside:
            line = SEEDED_GENERATOR.sub(
                lambda found: f"default_rng({_number(seed, 'rng:' + found[1]) % 2**32})", line)
        lines.append(line)
    return "".join(lines)


def _answer_id_after(cells, index: int) -> str | None:
    """The grade_id of the first solution cell after the quiz cell at `index`."""
    for cell in cells[index + 1:]:
        if role(cell).get("solution"):
            return role(cell).get("grade_id")
    return None


def is_lettered(options: dict) -> bool:
    """True if a quiz's option keys are "A", "B", ... in order (True/False questions are not)."""
    return list(options) == [chr(ord("A") + n) for n in range(len(options))]


def quiz_source(arguments: dict) -> str:
    """A quiz cell's code from its arguments (with the key when they hold one)."""
    if "answer" not in arguments:
        return classroom_quiz_text(arguments)
    return (f"{QUIZ_CLASS}(\n    {arguments['question']!r},\n"
            f"    options={arguments['options']!r},\n    answer={arguments['answer']!r},\n"
            f"    hint={arguments.get('hint', '')!r},\n"
            f"    explanations={arguments['explanations']!r},\n)")


def reorder_quiz(arguments: dict, order: list[str]) -> tuple[str, dict[str, str]]:
    """(the code of the quiz with these arguments, its options in `order`; {old letter: new
    letter})."""
    letters = list(arguments["options"])
    new_letter = {old: letters[position] for position, old in enumerate(order)}
    arguments = dict(arguments, options={new_letter[old]: arguments["options"][old]
                                         for old in order})
    if "answer" in arguments:
        arguments["answer"] = new_letter[arguments["answer"]]
        arguments["explanations"] = {new_letter[old]: arguments["explanations"][old]
                                     for old in order}
    return quiz_source(arguments), new_letter


def lettered_quiz(cells, index: int) -> tuple[dict, str] | None:
    """(arguments, answer cell's grade_id) of the quiz at `index` if its options are lettered
    and an answer cell follows it, else None (not a quiz, or one a variant leaves alone)."""
    cell = cells[index]
    if cell.cell_type != "code" or QUIZ_CLASS not in cell.source:
        return None
    call = quiz_call(cell.source)
    if call is None:
        return None
    arguments, answer_id = literal_arguments(call), _answer_id_after(cells, index)
    if answer_id is None or not is_lettered(arguments["options"]):
        return None
    return arguments, answer_id


def _relettered_answer(code: str, answer_id: str, new_letter: dict[str, str]) -> str:
    """A source answer cell with `answer_<id> = "X"` set to X's new letter."""
    assignment = re.compile(rf"(answer_{re.escape(answer_id)}\s*=\s*)([\"'])([A-Z])\2")
    return assignment.sub(lambda m: f"{m[1]}{m[2]}{new_letter.get(m[3], m[3])}{m[2]}", code)


def variant_tables(source) -> dict:
    """The source notebook's number tables ({} if it has none)."""
    tables = source.metadata.get(TABLES, {})
    if not isinstance(tables, dict):
        raise VariantError(f"metadata.{TABLES} must map table names to tables")
    return tables


def apply_variant(notebook, tables: dict, variant: Variant):
    """A copy of `notebook` (a source or its classroom edition, nbformat node) made into
    `variant`: numbers drawn from `tables` (the source's `variant_tables`), quiz options
    reordered, hidden generators reseeded, and the variant's mark in the metadata. The copy
    shares what it does not replace (outputs, cell metadata) with `notebook`: copy it deeply
    before changing those."""
    made = copy.copy(notebook)  # the cells' sources and the metadata are replaced, not changed
    made.metadata = copy.copy(notebook.metadata)
    made.cells = [copy.copy(cell) for cell in notebook.cells]
    cells_of = {name: set(table.get("cells", ())) for name, table in tables.items()}
    for cell in made.cells:
        for name, table in tables.items():
            if cell.get("id") in cells_of[name]:
                cell.source = render_table(cell.source, name, table, variant.seed)
    for index, cell in enumerate(made.cells):
        if cell.cell_type == "code" and role(cell).get("grade") and not role(cell).get("solution"):
            cell.source = _reseeded_hidden(cell.source, variant.seed)
        quiz = lettered_quiz(made.cells, index)
        if quiz is None:
            continue
        arguments, answer_id = quiz
        cell.source, new_letter = reorder_quiz(
            arguments, permuted(variant.seed, answer_id, list(arguments["options"])))
        for later in made.cells[index + 1:]:
            if role(later).get("grade_id") == answer_id:
                later.source = _relettered_answer(later.source, answer_id, new_letter)
                break
    made.metadata.pop(TABLES, None)
    made.metadata[VARIANT_STAMP] = {"student": variant.student, "mark": variant.mark}
    return made


def signature_cells(source) -> list[str]:
    """The ids of the cells a variant of `source` may change as a student sees them: the
    lettered quizzes and the cells of the number tables."""
    tables = variant_tables(source)
    ids = {cell_id for table in tables.values() for cell_id in table.get("cells", ())}
    for index, cell in enumerate(source.cells):
        if lettered_quiz(source.cells, index) is not None:
            if not cell.get("id"):
                raise VariantError("a quiz cell of the source has no cell id, which variants "
                                   "need: save the notebook in format 4.5 (JupyterLab 3 or "
                                   "later adds the ids)")
            ids.add(cell.get("id"))
    return [cell.get("id") for cell in source.cells if cell.get("id") in ids]


def variant_signature(source, cell_ids: list[str]) -> dict[str, str]:
    """{cell id: digest of its text as the student's copy shows it} of a source notebook (or a
    variant of it): a quiz cell as the classroom edition writes it, any other as it is."""
    by_id = {cell.get("id"): cell for cell in source.cells}
    return {cell_id: text_digest(classroom_quiz_source(by_id[cell_id].source)
                                 if is_quiz_cell(by_id[cell_id]) else by_id[cell_id].source)
            for cell_id in cell_ids}
