"""The README and the instructors' guide give commands that work in a fresh shell opened in the
repository's folder: `llmf-grade` is called as .venv/bin/llmf-grade in every command line they
show (the virtual environment is not on PATH until it is activated)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "instructors.md"]  # architecture.md: diagrams
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INDENTED = re.compile(r"(?:^(?: {4}).*\n)+", re.MULTILINE)  # a Markdown indented code block


def command_lines(text: str) -> list[str]:
    """Lines of the document's code blocks (fenced or indented) that start with a command."""
    blocks = FENCE.findall(text) + INDENTED.findall(FENCE.sub("", text))
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_llmf_grade_command_line_works_without_activating_the_venv(document):
    lines = [line for line in command_lines(document.read_text())
             if re.match(r"(\S+/)?llmf-grade\b", line)]
    bare = [line for line in lines if not line.startswith(".venv/bin/llmf-grade")]
    assert not bare, f"{document.name}: call it as .venv/bin/llmf-grade: {bare}"


def test_the_readme_shows_the_commands():
    lines = command_lines((ROOT / "README.md").read_text())
    assert any(line.startswith(".venv/bin/llmf-grade check work/") for line in lines)
