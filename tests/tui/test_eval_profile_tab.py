"""The `e` key under a profile: the gate's (route, then top level) or the config's, and the Evals tab saying so.
Scores are checked against the API on the same trace (`TrajectoryScore(profile=...).evaluate(analysis)`)."""

from __future__ import annotations

import io
import re

from rich.console import Console

from orchtui.analysis import TraceAnalysis
from orchtui.config import load_config
from orchtui.demo import demo_spans
from orchtui.evals import TrajectoryScore
from tests.tui.conftest import DEMO_START_NS, demo_index, settle
from tui.app import OrchApp, make_app

SIZE = (120, 36)
NOTE = ("profile futureagi (FutureAGI ai-evaluation 1.1.0's formulas, pass/fail at 0.5 unless the route sets a threshold): "
        "TaskCompletion, StepEfficiency, TrajectoryScore, ToolSelectionAccuracy; the other 4 under the default profile")


def evals_text(app: OrchApp) -> str:
    """The Evals tab's text as shown (no colour codes), its lines joined."""
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(app.detail.query_one("#evals-body").content)
    return " ".join(out.getvalue().split())


async def evaluate_selected(app: OrchApp) -> tuple[str, TraceAnalysis]:
    """`e` on the selected trace (the newest refund_request): the Evals tab's text and the trace."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.trace_list.current.name == "refund_request"
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        return evals_text(app), app.index.get(app.trace_list.current.trace_id)


def trajectory_row(text: str) -> str:
    """The TrajectoryScore row as shown: score, label, the explanation's start."""
    found = re.search(r"TrajectoryScore [█░]{10} (\S+ \S+ .{50})", text)
    assert found, text
    return found.group(1)


def api_row(analysis: TraceAnalysis, profile: str) -> str:
    result = TrajectoryScore(profile=profile).evaluate(analysis)
    return f"{result.score:.2f} {result.label} {result.explanation[:50]}"


def demo_app_with_config(tmp_path, config_path, **options) -> OrchApp:
    """The app as the CLI builds it (make_app: the config's profile), holding the demo's traces."""
    app = make_app(config=load_config({"ORCHTUI_CONFIG": str(config_path)}), save_dir=tmp_path, sources_label="demo", **options)
    assert app.profile == "futureagi"
    app.index.add(demo_spans(start_ns=DEMO_START_NS))
    return app


async def test_the_gates_profile_scores_e_and_the_evals_tab_names_it(tmp_path):
    gate = tmp_path / "gate.toml"
    gate.write_text('profile = "futureagi"\n[[route]]\nmatch = "triage_*"\n')
    text, analysis = await evaluate_selected(OrchApp(demo_index(), save_dir=tmp_path, spec=gate))
    assert "route no gate route: reference-free evaluators" in text and NOTE in text
    assert trajectory_row(text) == api_row(analysis, "futureagi")
    assert "(FutureAGI 1.1.0 formula, profile" in trajectory_row(text)
    assert api_row(analysis, "futureagi") != api_row(analysis, "default")


async def test_the_config_profile_applies_and_a_gate_route_wins_over_it(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\nprofile = "futureagi"\n')
    text, analysis = await evaluate_selected(demo_app_with_config(tmp_path, config))
    assert NOTE in text and trajectory_row(text) == api_row(analysis, "futureagi")
    gate = tmp_path / "gate.toml"
    gate.write_text('[[route]]\nmatch = "refund_*"\nprofile = "default"\nevaluators = ["TrajectoryScore"]\n')
    text, analysis = await evaluate_selected(demo_app_with_config(tmp_path, config, spec=gate))
    assert "route refund_*" in text and "profile futureagi" not in text
    assert trajectory_row(text) == api_row(analysis, "default")


async def test_the_default_profile_adds_no_line(demo_app):
    text, analysis = await evaluate_selected(demo_app)
    assert "profile futureagi" not in text and trajectory_row(text) == api_row(analysis, "default")
