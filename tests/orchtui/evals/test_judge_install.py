"""The judge works from a plain, non-editable install without the test extra (issue 16: `pipx install orchtui`
then `orchtui eval --judge-url ...` died with ModuleNotFoundError: httpx, which only the test extra declared).

The wheel is built from this checkout and installed into a fresh virtual environment that sees exactly the
distributions the wheel's own metadata requires (its Requires-Dist without extras, followed through every
dependency's requirements), linked file by file from this environment's installs: nothing is downloaded for the
dependencies, and a package that is only a test extra (httpx before the fix, pytest) is absent, as on a user's
machine. `pip install --no-index` then resolves the wheel's requirements against them. Building the wheel needs the
build backend (hatchling): it is used from this environment when installed, else pip fetches it as for any
`pip install .`.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow
LANGGRAPH = DATA / "langgraph/langgraph-openinference.otlp.jsonl"


class _Judge(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat completions endpoint on loopback that always answers score 1."""

    requests: list[dict] = []

    def do_POST(self) -> None:  # the http.server name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).requests.append({"path": self.path, **json.loads(body)})
        reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": '{"reasoning": "fine", "score": 1}'}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def judge_server():
    _Judge.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Judge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1", _Judge.requests
    server.shutdown()
    server.server_close()


def _build_wheel(out: Path) -> Path:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(out), str(ROOT)]
    try:
        import hatchling  # noqa: F401 - present: build offline with it

        command.insert(4, "--no-build-isolation")
    except ImportError:
        pass
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = out.glob("orchtui-*.whl")
    return wheel


def _requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    return [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]


def _closure(requirements: list[str]) -> dict[str, importlib.metadata.Distribution]:
    """Every installed distribution the requirements pull in (markers evaluated, requested extras followed)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [(Requirement(text), "") for text in requirements]
    done: set[tuple[str, tuple[str, ...], str]] = set()
    while todo:
        requirement, extra = todo.pop()
        key = (canonicalize_name(requirement.name), tuple(sorted(requirement.extras)), extra)
        if key in done or (requirement.marker is not None and not requirement.marker.evaluate({"extra": extra})):
            continue
        done.add(key)
        distribution = importlib.metadata.distribution(requirement.name)
        found[canonicalize_name(requirement.name)] = distribution
        for text in distribution.requires or []:
            todo += [(Requirement(text), wanted) for wanted in ("", *requirement.extras)]
    return found


def _link(distributions, site: Path) -> None:
    for distribution in distributions:
        base = Path(distribution.locate_file(""))
        for file in distribution.files or []:
            if file.parts[0] == "..":  # console scripts in bin/: not importable, not needed
                continue
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(base / file)


def test_the_judge_runs_from_a_wheel_installed_without_the_test_extra(tmp_path, judge_server):
    url, requests = judge_server
    wheel = _build_wheel(tmp_path / "wheels")
    requirements = _requirements(wheel)
    assert "httpx>=0.27" in requirements  # a runtime requirement, not only `; extra == 'test'`

    # The environment: the wheel's dependency closure only (no pytest, no hypothesis, no OTel SDK).
    closure = _closure([r for r in requirements if "extra ==" not in r])
    assert "httpx" in closure and "pytest" not in closure and "hypothesis" not in closure
    site = tmp_path / "deps"
    _link(closure.values(), site)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "orchtui-test-deps.pth").write_text(f"{site}\n")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_STATE_HOME=str(tmp_path / "state"), PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    installed = subprocess.run([python, "-m", "pip", "install", "--no-index", "--no-cache-dir", str(wheel)],
                               capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    probe = subprocess.run(
        [python, "-c", "import importlib.util, orchtui; print(orchtui.__file__); print(importlib.util.find_spec('pytest') is None)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )
    location, no_pytest = probe.stdout.split()
    assert Path(location).is_relative_to(venv) and no_pytest == "True"  # the wheel's copy, not this checkout

    orchtui = venv / "bin" / "orchtui"
    run = subprocess.run(
        [orchtui, "eval", str(LANGGRAPH), "--trace", "vendor_exception", "--json", "--judge-url", url, "--judge-model", "m",
         "--evaluator", "TaskCompletion", "--evaluator", "TrajectoryJudge"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert "Traceback" not in run.stderr and "ModuleNotFoundError" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stdout + run.stderr
    results = {r["evaluator"]: r for r in json.loads(run.stdout)["results"]}
    assert results["TrajectoryJudge"]["score"] == 1.0 and results["TrajectoryJudge"]["mode"] == "llm"
    assert results["TaskCompletion"]["mode"] == "hybrid" and results["TaskCompletion"]["score"] == 1.0
    assert "judge_error" not in json.dumps(results)
    assert requests and all(r["path"] == "/v1/chat/completions" and r["model"] == "m" for r in requests)
    # Verdicts are a cache ($XDG_CACHE_HOME/orchtui/judge-cache), not state.
    assert list((tmp_path / "cache" / "orchtui" / "judge-cache").glob("*.json"))
    assert not (tmp_path / "state" / "orchtui" / "judge-cache").exists()
