"""A pytest plugin: tests that share a class- or module-scoped fixture run on one xdist worker.

Such a fixture is often a whole class of graded notebooks (minutes of work). Under `-n 2`,
xdist's default `load` distribution would send its tests to both workers, and each worker
would build the fixture again; with `--dist loadgroup` (pyproject) and the `xdist_group` mark
this plugin gives each such test, they stay together. tests/test_environment.py checks that the
grouping takes effect (pytest 9.2 silently broke it: pytest-xdist issue 1386).
"""

import pytest


@pytest.hookimpl(tryfirst=True)  # before xdist turns the marks into groups
def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        fixtures = getattr(item, "_fixtureinfo", None)
        scopes = {defs[-1].scope for defs in fixtures.name2fixturedefs.values()} if fixtures else ()
        if "class" in scopes and item.cls is not None:
            item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}.{item.cls.__name__}"))
        elif "module" in scopes:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
