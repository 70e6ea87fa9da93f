"""Writing, reading, fingerprinting and naming files: the one atomic write every part of the
autograder uses, the one bounded read of a file a student sent, file names made safe to print,
and text made to show what it holds."""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from pathlib import Path

# what `visible` escapes: control, format, line-separator and paragraph-separator characters
HIDING = ("Cc", "Cf", "Zl", "Zp")


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` to `path` so that a reader sees the old file or the new one, never half.

    The parent folders are created; text is written as UTF-8, a character UTF-8 cannot hold
    (a lone surrogate, from a file name that is not UTF-8, say) as its escape (\\udcff), so
    no text stops a write.
    An OSError names `path`, never the temporary file the write goes through.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8", "backslashreplace")
        temporary.write_bytes(data)
        temporary.replace(path)
    except OSError as error:  # the same kind of error (OSError picks it from errno), of `path`
        raise OSError(error.errno, error.strerror, str(path)) from error
    finally:
        temporary.unlink(missing_ok=True)
    return path


def open_regular(path: str | Path):
    """A binary file object for `path`, refusing a link or anything but a regular file without
    blocking (a FIFO put there since it was listed is never waited on): OSError for a link or
    no file, ValueError for a folder, a FIFO or a device."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags)
    handle = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        handle.close()
        raise ValueError("not a regular file")
    return handle


def read_bounded(path: str | Path, limit: int) -> tuple[bytes, int]:
    """(the first limit + 1 bytes of the regular file at `path`, its size), reading no more
    than that however large the file (a sparse terabyte, say); open_regular's errors for what
    is not a regular file."""
    with open_regular(path) as handle:
        head = handle.read(limit + 1)
        size = os.fstat(handle.fileno()).st_size
    return head, max(size, len(head))


def bounded_digest(head: bytes, size: int, limit: int) -> str:
    """The digest of a file of `size` bytes whose first limit + 1 bytes are `head`: the sha256
    of its bytes up to `limit`, else of `head` and the size (a file read no further).

    >>> bounded_digest(b"abc", 3, 10) == hashlib.sha256(b"abc").hexdigest()
    True
    """
    digest = hashlib.sha256(head[: limit + 1])
    if size > limit:
        digest.update(f"\0 and more, {size} bytes in all".encode())
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
