"""The console script ends the process without taking the heap apart (orchtui/entry.py), and loses nothing by it:
the exit status, every byte written, and what exit handlers registered during the command save."""

from __future__ import annotations

import subprocess
import sys

from orchtui.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from tests.golden import ROOT

TRACE = ROOT / "tests" / "data" / "frameworks" / "anthropic-native-openinference.otlp.jsonl"


def orchtui(*args: str, cache) -> subprocess.CompletedProcess:
    env = {"XDG_CACHE_HOME": str(cache), "HOME": str(cache), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "orchtui", *args], cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)


def python_exit(*args: str, cache) -> subprocess.CompletedProcess:
    """The same command ended by Python's own exit."""
    env = {"XDG_CACHE_HOME": str(cache), "HOME": str(cache), "PATH": "/usr/bin:/bin"}
    probe = "import sys\nfrom orchtui.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", probe, *args], cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)


def test_the_status_and_every_byte_of_output_are_kept(tmp_path):
    demo = tmp_path / "demo.jsonl"
    assert orchtui("demo", "--write", str(demo), cache=tmp_path).returncode == EXIT_OK
    done = orchtui("check", "--json", str(demo), str(TRACE), cache=tmp_path)
    expected = python_exit("check", "--json", str(demo), str(TRACE), cache=tmp_path)
    assert done.returncode == expected.returncode == EXIT_FINDINGS  # the demo's traces have findings
    assert len(done.stdout) > 10_000 and done.stdout == expected.stdout
    tables = orchtui("check", str(demo), cache=tmp_path)  # printed text, not bytes written and flushed by `check`
    assert tables.returncode == EXIT_FINDINGS and tables.stdout == python_exit("check", str(demo), cache=tmp_path).stdout
    assert tables.stdout.count(b"\n") > 10


def test_the_heap_is_not_taken_apart(tmp_path):
    """What the fast way out is for: objects still alive at the end are not freed one by one (no `__del__` runs)."""
    probe = (
        "import os, sys\nfrom orchtui.entry import run\n"
        "class Kept:\n    def __del__(self, write=os.write):\n        write(2, b'freed')\n"
        "kept = Kept()\nsys.argv = ['orchtui', 'demo', '--write', sys.argv[1]]\nrun()\n"
    )
    written = tmp_path / "demo.jsonl"
    done = subprocess.run([sys.executable, "-c", probe, str(written)], cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert done.returncode == EXIT_OK and done.stdout.startswith(b"wrote the demo traces") and written.stat().st_size
    assert b"freed" not in done.stderr


def test_exit_handlers_registered_by_the_command_still_run(tmp_path):
    prices = tmp_path / "orchtui" / "prices.json"
    assert not prices.exists()
    assert orchtui("check", "--json", str(TRACE), cache=tmp_path).returncode in (EXIT_OK, EXIT_FINDINGS)
    assert prices.exists()  # the price cache is saved by an atexit handler registered while pricing


def test_help_and_usage_errors_exit_as_before(tmp_path):
    helped = orchtui("--help", cache=tmp_path)
    assert helped.returncode == EXIT_OK and b"usage: orchtui" in helped.stdout
    assert orchtui("check", cache=tmp_path).returncode == EXIT_USAGE
    assert orchtui("no-such-command", cache=tmp_path).returncode == EXIT_USAGE
