"""Writing, fingerprinting and naming files: the one atomic write every part of the autograder
uses, file names made safe to print, and text made to show what it holds."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import Path

# what `visible` escapes: control, format, line-separator and paragraph-separator characters
HIDING = ("Cc", "Cf", "Zl", "Zp")


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` to `path` so that a reader sees the old file or the new one, never half.

    The parent folders are created; text is written as UTF-8, a character UTF-8 cannot hold
    (a lone surrogate, from a file name that is not UTF-8, say) as its escape (\\udcff), so
    no text stops a write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, str):
            data = data.encode("utf-8", "backslashreplace")
        temporary.write_bytes(data)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file's bytes, or "" if there is no such file."""
    path = Path(path)
    if not path.is_file():
        return ""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def printable(text: str) -> str:
    """`text` (a file name, say) with undecodable bytes and control characters escaped: one line,
    safe to print whatever bytes the name holds.

    >>> printable("ada\\nbob\\udcff")
    'ada\\\\nbob\\\\xff'
    """
    text = os.fsencode(text).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def visible(text: str) -> str:
    r"""`text` with each character that shows nothing, reorders what is shown or breaks a line
    as its escape: control characters but tab and newline, Unicode's format characters (bidi
    overrides and isolates, zero-width spaces and joiners) and its line and paragraph
    separators. A page then shows what the text holds: an id `ada\u202e` cannot turn "ada and
    bob" round, nor a line of code read otherwise than it runs, nor show as two lines.

    >>> visible("ada\u202e and bob\u200b\tx\u2028")
    'ada\\u202e and bob\\u200b\tx\\u2028'
    """
    return "".join(ascii(ch)[1:-1] if ch not in "\t\n" and unicodedata.category(ch) in
                   HIDING else ch for ch in text)
