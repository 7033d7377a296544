"""Every fixture's `check --json` document equals its golden file (tests/golden.py says why and how to update)."""

from __future__ import annotations

import pytest

from tests.golden import ROOT, check_document_of, fixtures, golden_path, render

FIXTURES = fixtures()


def test_every_fixture_has_a_golden_document():
    missing = [str(f) for f in FIXTURES if not golden_path(f).exists()]
    assert not missing, f"no golden for {missing}: run `python -m tests.golden --update` and review the new files"


@pytest.mark.parametrize("fixture", FIXTURES, ids=str)
def test_check_document_matches_its_golden(fixture):
    golden = golden_path(fixture)
    if not golden.exists():
        pytest.skip("no golden yet (the test above fails for it)")
    assert render(check_document_of(fixture)).decode() == golden.read_text(), (
        f"{fixture}: the check document changed; if on purpose, `python -m tests.golden --update` and review "
        f"{golden.relative_to(ROOT)}"
    )
