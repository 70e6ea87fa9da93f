"""Every message the kernel sends, bounded in size (in the kernel, installed at its start).

The grader drops a message larger than it reads (Limits.max_message_kb, 8 MB): ZeroMQ then
closes the connection, the messages after it are lost, and the cell times out. One `print` of a
100 MB string, a cell whose last expression is one, or a hidden case whose value is an array of
10 MB would cost a whole kernel. Installed around the kernel's session's `send`, it keeps every
message below that size first: a text longer than MAX_TEXT characters (printed output, a value's
text form) is cut, with a note of how much, and the largest parts of a display that still do not
fit (a hidden-cases report, an image) are replaced by a note, so such a cell gets what the
grader gives an oversized report anyway (no value). A student's code can remove it; that changes
only how its own output reaches the grader.
"""

from __future__ import annotations

import json

MAX_TEXT = 1_000_000  # characters of one text: at most 6 MB once written as JSON
MAX_CONTENT_BYTES = 7 * 1024 * 1024  # a message's content as JSON (the grader reads 8 MB)
DROPPED = "[the kernel dropped this output: larger than the grader reads]"


def bounded_text(text: str) -> str:
    """`text`, cut to MAX_TEXT characters with a note of how many there were."""
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}\n[... {len(text):,} characters in all]\n"


def json_size(value) -> int:
    """Bytes of `value` written as JSON, as the kernel's session writes it (no ASCII escapes);
    more than MAX_CONTENT_BYTES if it cannot be written."""
    try:
        return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8",
                                                                            "surrogatepass"))
    except (TypeError, ValueError, RecursionError):
        return MAX_CONTENT_BYTES + 1


def bounded_content(content: dict) -> dict:
    """A message's content whose JSON is at most MAX_CONTENT_BYTES: every text (printed, or a
    value's text form) cut by `bounded_text`, then the largest parts of its data replaced by
    DROPPED until the rest fits."""
    content = dict(content)
    if isinstance(content.get("text"), str):
        content["text"] = bounded_text(content["text"])
    data = content.get("data")
    if isinstance(data, dict):
        data = {kind: bounded_text(value) if isinstance(value, str) else value
                for kind, value in data.items()}
        left = MAX_CONTENT_BYTES - json_size({**content, "data": {}})
        sizes = {kind: json_size(value) for kind, value in data.items()}
        for kind in sorted(sizes, key=sizes.get, reverse=True):
            if sum(sizes.values()) <= left:
                break
            data[kind], sizes[kind] = DROPPED, json_size(DROPPED)
        content["data"] = data
    return content


def install() -> bool:
    """Make the kernel's session send every message through `bounded_content`."""
    from IPython import get_ipython

    session = get_ipython().kernel.session
    send = session.send

    def bounded_send(stream, msg_or_type, content=None, *args, **kwargs):
        if isinstance(msg_or_type, dict) and isinstance(msg_or_type.get("content"), dict):
            msg_or_type = {**msg_or_type, "content": bounded_content(msg_or_type["content"])}
        if isinstance(content, dict):  # a message given as its type and content
            content = bounded_content(content)
        return send(stream, msg_or_type, content, *args, **kwargs)

    session.send = bounded_send
    return True
