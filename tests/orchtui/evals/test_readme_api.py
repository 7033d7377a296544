"""The README's Python API section runs: every `>>>` example in it is a doctest, against the real LangGraph
fixture trace in tests/data (paths in the examples are relative to the repository's root)."""

from __future__ import annotations

import doctest
import re

from tests.conftest import ROOT

SECTION = "### The Python API"


def api_section() -> tuple[str, int]:
    """The section's text, from its heading to the next heading of the same or a higher level, and its line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = re.compile(r"^#{1,3} ", re.M).search(text, start + len(SECTION))
    section = text[start : end.start() if end else len(text)]
    # A closing ``` fence would read as expected output: fences become blank lines (line numbers stay right).
    return re.sub(r"^```\w*$", "", section, flags=re.M), text.count("\n", 0, start)


def test_the_readme_api_examples_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    section, line = api_section()
    test = doctest.DocTestParser().get_doctest(section, {}, "README.md: The Python API", str(ROOT / "README.md"), line)
    assert len(test.examples) >= 25  # the section was found whole, not an empty match
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)
    assert runner.tries == len(test.examples)
