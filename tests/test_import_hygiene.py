"""The headless packages must never load the UI stack: `check` and `eval` start fast and run without a TTY."""

import subprocess
import sys

from tests.conftest import ROOT


def test_parsers_and_engine_do_not_import_textual_or_rich():
    code = (
        "import sys; import parsers, parsers.read, orchtui, orchtui.cli, orchtui.analysis, orchtui.store, "
        "orchtui.loading, orchtui.report; "
        "print(','.join(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_check_json_runs_without_loading_rich(tmp_path):
    code = (
        "import sys, io, contextlib; from orchtui.cli import main; "
        "buf = io.StringIO(); sys.stdout = io.TextIOWrapper(io.BytesIO()); "
        "main(['check', '--json', 'tests/data/otlp/otlp-proto-example-trace.json']); "
        "sys.stdout = sys.__stdout__; print(','.join(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
