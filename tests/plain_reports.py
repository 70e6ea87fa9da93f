"""A pytest plugin: nothing a test generates can break the reporting between xdist's processes.

Under `-n 2` each worker sends its reports (the failure's text, captured output, hypothesis'
falsifying example) and warnings to the controller, which encodes them as UTF-8: a lone
surrogate that a fuzz test generated ('\\ud800') then stopped the whole run with an
INTERNALERROR (issue #23). Every string of every report and warning is made valid UTF-8 here,
before it leaves the worker: a character UTF-8 cannot hold becomes its backslash escape, so
nothing is lost from the report. Fuzz tests also pass what they show through `plain`.
tests/test_autograder_fuzz.py checks this plugin under `-n 2`.
"""

from __future__ import annotations

import warnings

import pytest

MAX_SHOWN = 300  # characters of a generated value an assertion message shows


def valid_text(text: str) -> str:
    """`text` as valid UTF-8 text: lone surrogates and the like as backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def plain(value) -> str:
    """A generated value as an assertion message shows it: ASCII, at most MAX_SHOWN characters."""
    shown = ascii(value)
    return shown if len(shown) <= MAX_SHOWN else f"{shown[:MAX_SHOWN]}... ({len(shown)} chars)"


def _valid(data):
    """A serialized report with every string, key and value, as valid UTF-8 text."""
    if isinstance(data, str):
        return valid_text(data)
    if isinstance(data, dict):
        return {_valid(key): _valid(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_valid(item) for item in data)
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config, report):
    data = yield
    return _valid(data) if data is not None else None


@pytest.hookimpl(tryfirst=True)  # before xdist's worker sends the warning
def pytest_warning_recorded(warning_message: warnings.WarningMessage, when, nodeid, location):
    message = warning_message.message
    text = str(message)
    if valid_text(text) != text:
        category = type(message) if isinstance(message, Warning) else UserWarning
        warning_message.message = category(valid_text(text))
