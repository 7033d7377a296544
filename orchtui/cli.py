"""The `orchtui` command line. Headless commands never import Textual; interactive ones import it on demand."""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .analysis import TraceAnalysis
from .analysing_sink import AnalysingSink, AnalysisHook
from .bulk import bulk_load, freeze_after_full_collections
from .loading import LoadReport, load_sources
from .sources.factory import sources_for
from .sources.files import FileSource, start_file_workers
from .exposure import exposure_warning
from .cli_tables import LIST_EVERY_TRACE_UP_TO
from .report import check_document, exceeds, print_tables
from .textsafe import Streamed, printable, write_json
from .store import SpanStore

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3  # orchtui itself failed: never 1, which CI reads as "findings"
DEFAULT_MAX_SPANS = 1_000_000


class _Parser(argparse.ArgumentParser):
    """argparse that exits with our usage status (2, as argparse does) and a hint to --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="orchtui", description="Debug LLM and agent orchestration traces in the terminal.")
    parser.add_argument("--version", action="version", version=f"orchtui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser(
        "check",
        help="analyse trace files headless and report findings (for CI)",
        description="Read trace files (any supported format, .gz too), analyse every trace, and report loops, "
        "stop-reason problems, errors, retries and redundant calls. Exit 0 when clean, 1 when a finding "
        "reaches --fail-on, 2 on bad usage or unreadable input.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="trace files, directories or glob patterns")
    check.add_argument("--json", action="store_true", help="print the stable JSON document instead of tables")
    check.add_argument(
        "--all",
        action="store_true",
        help=f"list every trace in the table (a file of more than {LIST_EVERY_TRACE_UP_TO} traces lists those with findings)",
    )
    check.add_argument(
        "--fail-on",
        choices=("info", "warn", "critical"),
        default=None,
        help="lowest finding severity that makes the exit status 1 (default: critical, or the config file's)",
    )
    check.set_defaults(handler=run_check)

    open_ = commands.add_parser(
        "open",
        help="open saved trace files in the terminal UI",
        description="Open trace files (any supported format; several files merge into one view) in the UI.",
    )
    open_.add_argument("paths", nargs="+", metavar="PATH", help="trace files, directories or glob patterns")
    open_.add_argument(
        "--max-spans",
        type=_positive_int,
        default=None,
        help=f"keep at most this many spans in memory, evicting the least recently updated whole traces "
        f"(the status line counts them; default {DEFAULT_MAX_SPANS:,}, or the config file's)",
    )
    open_.add_argument("--spec", metavar="GATE.toml", help="gate file: routes `e` evaluates against, where `E` saves golden routes")
    _add_judge_options(open_, "the `e` key's evaluations")
    open_.set_defaults(handler=run_open)

    eval_ = commands.add_parser(
        "eval",
        help="run evaluators on traces headless, optionally against a gate file (for CI)",
        description="Run the evaluators on every trace (or --trace ID). Without --spec the reference-free "
        "evaluators run; with a gate file each trace is held to the route whose glob matches its root span name, "
        "and each route's [route.limits] (min_pass_rate, max_p95_ms, max_cost_usd_per_trace, max_loop_rate) are "
        "checked over all of its traces. "
        "Exit 0 when everything passed, 1 when an evaluation failed or warned, 2 on bad usage, a bad gate file or "
        "unreadable input.",
    )
    eval_.add_argument("paths", nargs="+", metavar="PATH", help="trace files, directories or glob patterns")
    eval_.add_argument("--trace", metavar="ID", help="only the trace whose id (or id prefix, or name) this is")
    eval_.add_argument("--spec", metavar="GATE.toml", help="per-route expectations ([[route]] tables)")
    eval_.add_argument("--evaluator", action="append", metavar="NAME", help="run only these evaluators (repeatable)")
    eval_.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    eval_.add_argument("--junit", metavar="FILE", help="also write JUnit XML (one testcase per trace x evaluator)")
    eval_.add_argument(
        "--all",
        action="store_true",
        help=f"list every trace in the table (of more than {LIST_EVERY_TRACE_UP_TO} traces, those with a warn or fail verdict)",
    )
    from .evals import PROFILES

    eval_.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help="futureagi: score TaskCompletion, StepEfficiency, ToolSelectionAccuracy and TrajectoryScore with "
        "FutureAGI's formulas (threshold 0.5, pass/fail); the other evaluators run as usual. Wins over the gate "
        "file's `profile` (default: the gate's, else the config file's or ORCHTUI_PROFILE, else default)",
    )
    _add_judge_options(eval_, "every evaluator with an LLM mode")
    eval_.set_defaults(handler=run_eval)

    routes = commands.add_parser(
        "routes",
        help="per-route numbers across many traces: success, latency percentiles, cost, retries, loops (for CI)",
        description="Group finished traces into routes (family = root span name; path = the ordered tool, "
        "retriever, hand-off and agent steps and each LLM call's model, repeats collapsed) and print one row per "
        "route. A route costing or taking (p95) 2x the rest of its family's median is flagged as an expensive "
        "branch. With a gate file, each trace is evaluated and the rows say which step's evaluations fail most, "
        "and the routes' [route.limits] are checked. Exit 0 when nothing is flagged, 1 when a route is an "
        "expensive branch or breaks a gate limit, 2 on bad usage, a bad gate file or unreadable input.",
    )
    routes.add_argument("paths", nargs="+", metavar="PATH", help="trace files, directories or glob patterns")
    routes.add_argument("--by", choices=("path", "family"), default="path", help="one row per route path (default) or per family")
    routes.add_argument("--json", action="store_true", help="print the stable JSON document instead of tables")
    routes.add_argument("--spec", metavar="GATE.toml", help="gate file: evaluate every trace, show where evaluations fail, check route limits")
    routes.set_defaults(handler=run_routes)

    diff = commands.add_parser(
        "diff",
        help="compare two runs step by step (or a run against its golden route)",
        description="Align the steps of trace B with those of A (a longest common subsequence of their steps) "
        "and show what B skipped, added, repeated, reordered or changed (tool arguments, models, status), with "
        "per-step token, cost and latency deltas. A and B are trace ids (or unique id prefixes) or root span "
        "names in the given files; with --spec, A may be a gate route's `match` (or `golden`: the route matching "
        "B). Exit 0 when B keeps A's steps, 1 when it departs from them, 2 on bad usage or when A or B names no "
        "trace.",
    )
    diff.add_argument("a", metavar="A", help="the reference: a trace id or name, or (with --spec) a gate route")
    diff.add_argument("b", metavar="B", help="the run to compare: a trace id or name")
    diff.add_argument("paths", nargs="+", metavar="PATH", help="trace files, directories or glob patterns")
    diff.add_argument("--spec", metavar="GATE.toml", help="gate file whose golden routes A may name")
    diff.add_argument("--json", action="store_true", help="print the comparison as JSON")
    diff.set_defaults(handler=run_diff)

    tail = commands.add_parser(
        "tail",
        help="follow span files as they grow, and/or be an OTLP/HTTP or OTLP/gRPC endpoint, in the terminal UI",
        description="Follow span files (line-oriented formats; a directory or glob follows every matching file, "
        "including ones created later), and/or listen as an OTLP/HTTP endpoint (POST /v1/traces) and/or an "
        "OTLP/gRPC one (--otlp-grpc, with the grpc extra). Everything received over OTLP is written to a spool "
        "file before it is acknowledged.",
    )
    tail.add_argument("paths", nargs="*", metavar="PATH", help="files, directories or glob patterns to follow")
    tail.add_argument("--from-end", action="store_true", help="skip what the files already hold")
    _add_otlp_options(tail, listen_by_default=False)
    tail.add_argument("--max-spans", type=_positive_int, default=None, help="memory bound (whole-trace eviction)")
    tail.add_argument("--spec", metavar="GATE.toml", help="gate file: routes `e` evaluates against, where `E` saves golden routes")
    _add_judge_options(tail, "the `e` key's evaluations")
    tail.set_defaults(handler=run_tail)

    serve = commands.add_parser(
        "serve",
        help="headless OTLP/HTTP (and OTLP/gRPC) endpoint writing everything it receives to a spool (remote triage, fan-in)",
        description="Listen as an OTLP/HTTP endpoint (and with --otlp-grpc an OTLP/gRPC one too) and append every "
        "accepted request to the spool (<save>.otlp.jsonl for JSON, <save>.otlp.pb for protobuf) before "
        "acknowledging it. Follow the spool with `orchtui tail` (e.g. over ssh), or open it later with `orchtui open`.",
    )
    _add_otlp_options(serve, listen_by_default=True)
    serve.set_defaults(handler=run_serve)

    demo = commands.add_parser(
        "demo",
        help="play a bundled multi-agent scenario set live into the UI",
        description="Play realistic agent runs (a clean run, a retrieval loop, a tool timeout with a retry, a "
        "truncated answer, a missing stop reason, a hand-off) into the UI over a few seconds. Needs nothing else.",
    )
    demo.add_argument("--seconds", type=float, default=6.0, help="how long the playback takes (default 6)")
    demo.add_argument("--write", metavar="FILE", help="write the demo traces as OTLP/JSON to FILE instead")
    demo.add_argument("--spec", metavar="GATE.toml", help="gate file: routes `e` evaluates against, where `E` saves golden routes")
    _add_judge_options(demo, "the `e` key's evaluations")
    demo.set_defaults(handler=run_demo)

    from .completion import SHELLS

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for the shell, generated from these commands and options. "
        "bash: `source <(orchtui completion bash)` in ~/.bashrc; zsh: `orchtui completion zsh > "
        "\"${fpath[1]}/_orchtui\"`; fish: `orchtui completion fish > ~/.config/fish/completions/orchtui.fish`.",
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    completion.set_defaults(handler=run_completion)
    return parser


def run_completion(args: argparse.Namespace) -> int:
    from .completion import script

    sys.stdout.write(script(args.shell, build_parser()))
    return EXIT_OK


def _load(
    paths: list[str], on_analysed: AnalysisHook | None = None
) -> tuple[SpanStore, LoadReport, list[TraceAnalysis]]:
    """Every trace of the inputs, analysed, oldest first (the order reports list them in). A headless command
    builds its whole heap, reports and exits: a bulk load (orchtui/bulk.py) spares it the collector's passes.
    Payloads of analysed traces go back to their files (orchtui/analysing_sink.py); `on_analysed` sees each
    analysis before they go, in whichever process made it (`eval`: orchtui/evaluating.py)."""
    store = SpanStore()
    sink = AnalysingSink(store, on_analysed=on_analysed)
    sources = sources_for(paths)
    for source in sources:
        if isinstance(source, FileSource):
            source.two_processes = True  # big files on two cores (orchtui/split_load.py)
    with bulk_load():
        report = load_sources(sources, sink)
        analyses = sink.analyses()
    return store, report, analyses


def _unreadable(report: LoadReport) -> bool:
    """Say which inputs could not be read at all; True when there were any (exit status 2)."""
    for error in report.unreadable:
        print(f"orchtui: {printable(error.source, True)}: {printable(error.message, True)}", file=sys.stderr)
    return bool(report.unreadable)


def _record_errors(store: SpanStore, report: LoadReport) -> list:
    """Read errors for the report's own list: bad records inside readable inputs. A whole input that could not be
    read is said once, on stderr, by `_unreadable`."""
    unreadable = {id(error) for error in report.unreadable}
    return [error for error in store.errors if id(error) not in unreadable]


def _no_traces(command: str, paths: list[str], report: LoadReport, analyses: list[TraceAnalysis]) -> bool:
    """True (exit status 2, said on stderr) when the inputs hold no trace at all: an empty CI input must not
    pass a gate. Inputs that could not be read were already named by `_unreadable`."""
    if analyses:
        return False
    where = ", ".join(printable(path, True) for path in paths)
    read = [name for name, format_ in report.files.items() if format_ is not None]
    if not report.files and not report.unreadable:
        print(f"orchtui {command}: no files in {where}", file=sys.stderr)
    elif read and any(report.spans.values()):  # spans read, but every trace's analysis failed (a bug of ours)
        print(f"orchtui {command}: no trace of {where} could be analysed (the errors say why)", file=sys.stderr)
    elif read:
        print(f"orchtui {command}: no traces in {where}", file=sys.stderr)
    return True


def _write_json(document: dict) -> None:
    write_json(sys.stdout.buffer, document)  # trace text escaped: the JSON cannot act on a terminal
    sys.stdout.flush()


class UsageError(Exception):
    """Bad usage found after parsing (a bad gate file): `main` prints it and exits with EXIT_USAGE."""


def _gate(spec: str | None, command: str):
    """The gate file's routes (None without --spec); a bad gate file raises UsageError naming the command."""
    from .gate import GateError, load_gate

    if not spec:
        return None
    try:
        return load_gate(spec)
    except GateError as exc:
        raise UsageError(f"orchtui {command}: {exc}") from None


def run_check(args: argparse.Namespace) -> int:
    store, report, analyses = _load(args.paths)
    errors = _record_errors(store, report)
    if args.json:
        _write_json(check_document(analyses, store.errors, collect=Streamed))
    elif analyses or errors:  # a trace the analysis failed on is named among the errors, not only "no traces"
        print_tables(analyses, errors, store.skipped, sys.stdout, list_all=args.all)
    if _unreadable(report) | _no_traces("check", args.paths, report, analyses):
        return EXIT_USAGE
    return EXIT_FINDINGS if exceeds(analyses, _fail_on(args)) else EXIT_OK


def run_eval(args: argparse.Namespace) -> int:
    from .batch_gate import limit_results
    from .evals import EVALUATORS
    from .eval_report import print_eval_tables
    from .evaluating import EvaluateAsAnalysed
    from .evaluation import eval_document, evaluate_trace, write_junit

    unknown = [name for name in args.evaluator or [] if name not in EVALUATORS]
    if unknown:
        print(f"orchtui eval: unknown evaluator(s) {', '.join(unknown)}; known: {', '.join(EVALUATORS)}", file=sys.stderr)
        return EXIT_USAGE
    routes = _gate(args.spec, "eval")
    judge = judge_from_args(args)
    fallback = None if args.profile else _user_config().profile  # below the gate's: config file, ORCHTUI_PROFILE

    def wanted(analysis: TraceAnalysis) -> bool:
        return not args.trace or analysis.trace_id.startswith(args.trace.lower()) or analysis.name == args.trace

    evaluating = EvaluateAsAnalysed(
        lambda a: evaluate_trace(a, routes, args.evaluator, judge, profile=args.profile, default_profile=fallback),
        wanted,
        sweep=judge is not None,
    )
    store, report, analyses = _load(args.paths, on_analysed=evaluating)
    if args.trace:
        analyses = [a for a in analyses if wanted(a)]
        if not analyses:
            print(f"orchtui eval: no trace matches {args.trace!r}", file=sys.stderr)
            return EXIT_USAGE
    evaluations = evaluating.results(analyses)
    limits = limit_results(routes, evaluations) if routes else []
    if args.json:
        _write_json(eval_document(evaluations, store.errors, limits, collect=Streamed))
    elif evaluations:
        print_eval_tables(evaluations, _record_errors(store, report), sys.stdout, limits, list_all=args.all)
    if args.junit:
        with Path(args.junit).open("w", encoding="utf-8") as junit:  # as its declaration says
            write_junit(junit, evaluations, limits)
    if _unreadable(report) | _no_traces("eval", args.paths, report, analyses):
        return EXIT_USAGE
    passed = all(e.passed for e in evaluations) and all(limit.passed is not False for limit in limits)
    return EXIT_OK if passed else EXIT_FINDINGS


def run_routes(args: argparse.Namespace) -> int:
    from .analysis.routes import BY_PATH, RouteBook
    from .routes_report import print_routes, routes_document

    if any(path.lower().startswith("clickhouse") for path in args.paths):  # numbers computed by the store itself
        from .remote.clickhouse_routes import routes_command

        if (code := routes_command(args)) is not None:
            return code
    gate = _gate(args.spec, "routes")
    evaluating = None
    if gate:  # the gate's evaluators run as each trace is analysed, with its payloads in memory (orchtui/evaluating.py)
        from .evaluating import EvaluateAsAnalysed
        from .evaluation import evaluate_trace

        fallback = _user_config().profile
        evaluating = EvaluateAsAnalysed(lambda a: evaluate_trace(a, gate, default_profile=fallback))
    store, report, analyses = _load(args.paths, on_analysed=evaluating)
    book = RouteBook()
    for analysis in analyses:
        book.update(analysis)
    stats = book.stats(args.by)
    limits, step_failures = [], None
    if gate and evaluating is not None:  # (evaluating exactly when there is a gate)
        from .batch_gate import limit_results
        from .route_evals import step_fail_rates

        evaluations = evaluating.results(analyses)
        limits = limit_results(gate, evaluations)
        step_failures = step_fail_rates(evaluations) if args.by == BY_PATH else None
    if args.json:
        _write_json(routes_document(stats, args.by, store.errors, limits, step_failures))
    elif analyses:
        print_routes(stats, args.by, _record_errors(store, report), sys.stdout, limits, step_failures)
    if _unreadable(report) | _no_traces("routes", args.paths, report, analyses):
        return EXIT_USAGE
    flagged = any(route.expensive for route in stats) or any(limit.passed is False for limit in limits)
    return EXIT_FINDINGS if flagged else EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    from .analysis.compare import compare_traces
    from .gate import route_for
    from .routes_report import TargetError, pick_trace, print_diff

    gate = _gate(args.spec, "diff")
    _, report, analyses = _load(args.paths)
    if _unreadable(report):
        return EXIT_USAGE
    try:
        b = pick_trace(args.b, analyses)
        golden = None
        if gate is not None:
            golden = route_for(b.analysis.name, gate) if args.a == "golden" else next((r for r in gate if r.match == args.a), None)
            if args.a == "golden" and golden is None:
                raise TargetError(f"no gate route matches {b.analysis.name!r}")
        if golden is not None and not golden.has_golden_path:
            raise TargetError(f"gate route {golden.match!r} has no expected_tool_calls to compare with")
        a = None if golden is not None else pick_trace(args.a, analyses)
    except TargetError as exc:
        print(f"orchtui diff: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for note in dict.fromkeys(picked.note for picked in (a, b) if picked is not None and picked.note):
        print(f"orchtui diff: {note}", file=sys.stderr)
    if a is not None and a.analysis.trace_id == b.analysis.trace_id:
        print(f"orchtui diff: A and B are the same trace ({printable(b.analysis.trace_id[:16], True)}): it matches itself", file=sys.stderr)
    family = [analysis for analysis in analyses if analysis.name == b.analysis.name] if golden is not None else []
    # A golden route names its steps only: the kinds come from the runs of the route (a skipped retriever is ⌕).
    comparison = golden.compare(b.analysis).with_golden_kinds(family) if golden is not None else compare_traces(a.analysis, b.analysis)
    if args.json:
        _write_json(comparison.to_json())
    else:
        print_diff(comparison, sys.stdout, family)
    return EXIT_FINDINGS if comparison.differs else EXIT_OK


def _add_judge_options(command: argparse.ArgumentParser, used_by: str) -> None:
    command.add_argument(
        "--judge-url",
        metavar="URL",
        help=f"OpenAI-compatible base URL of an LLM judge for {used_by} (e.g. http://localhost:11434/v1); key from ORCHTUI_JUDGE_API_KEY",
    )
    command.add_argument("--judge-model", metavar="MODEL", default="gpt-4o-mini", help="the judge's model (default gpt-4o-mini)")
    command.add_argument("--judge-samples", metavar="N", type=_positive_int, default=1, help="ask each question N times and average (default 1)")
    command.add_argument("--judge-seed", metavar="SEED", type=int, help="send this seed (sample i gets SEED+i) for reproducible verdicts")
    command.add_argument(
        "--judge-timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=60.0,
        help="give up on the judge after SECONDS per evaluation and keep the deterministic result (default 60)",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _user_config():
    """The user's config file (orchtui/config.py); its problems are reported on stderr, never fatal."""
    from .config import load_config

    config = load_config()
    for problem in config.problems:
        print(f"orchtui: config: {printable(problem, True)}", file=sys.stderr)
    return config


def _fail_on(args: argparse.Namespace) -> str:
    return args.fail_on or _user_config().fail_on or "critical"


def _max_spans(args: argparse.Namespace) -> int:
    return args.max_spans or _user_config().max_spans or DEFAULT_MAX_SPANS


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def judge_from_args(args: argparse.Namespace):
    """The one place a Judge is built from the command line: None without --judge-url. Verdicts are cached in the
    XDG cache directory ($XDG_CACHE_HOME/orchtui/judge-cache): safe to delete, and re-running a gate asks nothing
    twice."""
    if not args.judge_url:
        return None
    from .dirs import cache_dir
    from .evals.judge import Judge

    return Judge(
        base_url=args.judge_url,
        model=args.judge_model,
        samples=args.judge_samples,
        seed=args.judge_seed,
        deadline_s=args.judge_timeout,
        cache_dir=cache_dir() / "judge-cache",
    )


def _add_otlp_options(command: argparse.ArgumentParser, listen_by_default: bool) -> None:
    from .sources.defaults import DEFAULT_GRPC_PORT, DEFAULT_MAX_BODY, DEFAULT_PORT

    command.add_argument(
        "--otlp",
        metavar="[HOST:]PORT",
        nargs="?",
        const=f"127.0.0.1:{DEFAULT_PORT}",
        default=f"127.0.0.1:{DEFAULT_PORT}" if listen_by_default else None,
        help=f"listen for OTLP/HTTP on this address (default 127.0.0.1:{DEFAULT_PORT})",
    )
    command.add_argument(
        "--otlp-grpc",
        metavar="[HOST:]PORT",
        nargs="?",
        const=f"127.0.0.1:{DEFAULT_GRPC_PORT}",
        default=None,
        help=f"also listen for OTLP/gRPC on this address (default 127.0.0.1:{DEFAULT_GRPC_PORT}); "
        "needs the grpc extra: pip install 'orchtui[grpc]'",
    )
    command.add_argument("--token", default=os.environ.get("ORCHTUI_TOKEN"), help="require `Authorization: Bearer TOKEN` (env ORCHTUI_TOKEN)")
    command.add_argument(
        "--save" if listen_by_default else "--spool",
        dest="spool",
        metavar="BASE",
        help="spool path prefix (default: $XDG_STATE_HOME/orchtui/spool-<time>, i.e. ~/.local/state/orchtui/...)",
    )
    command.add_argument(
        "--spool-max",
        metavar="SIZE|AGE",
        action="append",
        type=_spool_max,
        help="cap the spool directory: a size (500M, 2G) and/or an age (7d, 12h); the file being written rolls "
        "over at a quarter of it and the oldest spool files are deleted (said when it happens)",
    )
    command.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest request body in bytes, after decompression (413/RESOURCE_EXHAUSTED above)")


def _spool_max(text: str) -> str:
    from .sources.spool import parse_spool_max

    try:
        parse_spool_max(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _spool_cap(args: argparse.Namespace):
    """The --spool-max values (repeatable: `--spool-max 2G --spool-max 7d`) as one SpoolCap, or None."""
    from .sources.spool import parse_spool_max

    cap = None
    for text in args.spool_max or []:
        cap = parse_spool_max(text, cap)
    return cap


def _spool_family(args: argparse.Namespace) -> str | None:
    """The default spools (one per session, in orchtui's state directory) are capped together; a --save/--spool
    base is capped with its own rolled-over files only (its directory may hold anything)."""
    from .sources.spool import DEFAULT_FAMILY

    return None if args.spool else DEFAULT_FAMILY


def _grpc_missing(command: str, args: argparse.Namespace) -> bool:
    """--otlp-grpc without grpcio installed: said on stderr (exit status 2)."""
    if args.otlp_grpc is None:
        return False
    from .sources.otlp_grpc import GRPC_MISSING, grpc_available

    if grpc_available():
        return False
    print(f"orchtui {command}: --otlp-grpc: {GRPC_MISSING}", file=sys.stderr)
    return True


def _listen_address(text: str, flag: str = "--otlp") -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        return (host or "127.0.0.1").strip("[]"), int(port)
    except ValueError:
        raise UsageError(f"orchtui: {flag} expects [HOST:]PORT, got {printable(text, True)!r}") from None


def _listen_addresses(command: str, args: argparse.Namespace) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """The HTTP and gRPC addresses asked for (None when not), refusing one address for both."""
    http = _listen_address(args.otlp) if args.otlp is not None else None
    grpc = _listen_address(args.otlp_grpc, "--otlp-grpc") if args.otlp_grpc is not None else None
    if http is not None and grpc is not None and http[1] == grpc[1] and http[1] != 0:
        raise UsageError(f"orchtui {command}: --otlp and --otlp-grpc cannot share port {http[1]}")
    return http, grpc


def _warn_if_exposed(host: str, token: str | None) -> None:
    warning = exposure_warning(host, token)
    if warning:
        print(f"orchtui: warning: {warning}", file=sys.stderr)


def run_tail(args: argparse.Namespace) -> int:
    if not args.paths and args.otlp is None and args.otlp_grpc is None:
        print("orchtui tail: give files to follow, --otlp or --otlp-grpc to listen, or both", file=sys.stderr)
        return EXIT_USAGE
    if _grpc_missing("tail", args) or _bad_store_url(args.paths):
        return EXIT_USAGE
    otlp, otlp_grpc = _listen_addresses("tail", args)
    spool = None
    if otlp is not None or otlp_grpc is not None:
        from .sources.spool import default_spool_base

        for address in filter(None, (otlp, otlp_grpc)):
            problem = _cannot_listen(*address)
            if problem is not None:
                print(f"orchtui tail: cannot listen on {printable(address[0], True)}:{address[1]}: {problem}", file=sys.stderr)
                return EXIT_USAGE
            _warn_if_exposed(address[0], args.token)
        spool = Path(args.spool) if args.spool else default_spool_base()
    from tui.app import make_app

    from .sources.factory import sources_for

    sources = sources_for(
        args.paths,
        follow=True,
        from_end=args.from_end,
        otlp=otlp,
        otlp_grpc=otlp_grpc,
        token=args.token,
        spool=spool,
        spool_max=_spool_cap(args),
        spool_family=_spool_family(args),
        max_body=args.max_body,
    )
    _run_app(make_app(sources, max_spans=_max_spans(args), spec=args.spec, judge=judge_from_args(args)))
    if spool is not None:
        receiver = next(source for source in sources if source.kind == "otlp")
        _say_spool(receiver.spool)
    return EXIT_OK


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the OTLP endpoint could not listen on host:port (None when it can), found before the UI starts: an
    empty UI that only toasts "cannot listen" would hide the error `serve` exits 2 with. The receiver binds the
    same way (SO_REUSEADDR), so a port in TIME_WAIT is free and one with a listener is not."""
    import socket

    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        return str(exc)
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                return exc.strerror or str(exc)
    return None


def _say_spool(spool) -> None:
    """On leaving `tail --otlp`: where what was received is kept (the UI showed it in the status line only)."""
    written = (spool.segments() + spool.paths()) if spool is not None else []
    if written:
        print("orchtui tail: received spans are in " + ", ".join(printable(str(path), True) for path in written))
    else:
        print("orchtui tail: nothing was received over OTLP; no spool file was written")
    if spool is not None and spool.pruned_files:
        print(f"orchtui tail: the spool cap ({spool.cap}) deleted {spool.pruned_files:,} older spool files")


class _Spooled:
    """Where `serve` delivers: nowhere. The spool is the record and the ingest counts what arrives."""

    def add(self, spans) -> None:
        pass

    def add_errors(self, errors, skipped=None) -> None:
        pass


def run_serve(args: argparse.Namespace) -> int:
    """The OTLP receiver source (HTTP, and gRPC with --otlp-grpc) run headless: say where it listens and spools,
    then its counts every 5 s while they change, until ctrl+c. An endpoint that cannot listen: exit status 2."""
    import time

    from .sources.base import FAILED
    from .sources.receiver import PROTOCOLS, SPOOL_CAP, ReceiverSource
    from .sources.spool import default_spool_base

    if _grpc_missing("serve", args):
        return EXIT_USAGE
    otlp, otlp_grpc = _listen_addresses("serve", args)
    for address in filter(None, (otlp, otlp_grpc)):
        _warn_if_exposed(address[0], args.token)

    def told(notice) -> None:  # from the source's threads; the cap's prunings are said (the rest is said below)
        if notice.title == SPOOL_CAP:
            print(f"  {printable(notice.message, True)}", flush=True)

    source = ReceiverSource(
        otlp,
        otlp_grpc,
        token=args.token,
        spool=Path(args.spool) if args.spool else default_spool_base(),
        spool_max=_spool_cap(args),
        spool_family=_spool_family(args),
        max_body=args.max_body,
    )
    source.status.listener = told
    source.start(_Spooled())
    try:
        source.wait_open()
        failed = next((listener for listener in source.listeners if listener.failed), None)
        if failed is not None:  # the other endpoint, if it listens, is stopped below
            where = f"{printable(failed.host, True)}:{failed.port}"
            print(f"orchtui serve: cannot listen for {PROTOCOLS[failed.name]} on {where}: {printable(failed.error, True)}", file=sys.stderr)
            return EXIT_USAGE
        if source.status.state == FAILED:  # the spool could not be opened (e.g. its directory cannot be made)
            problem = (source.status.problem or "").removeprefix("stopped: ")
            print(f"orchtui serve: cannot start: {printable(problem, True)}", file=sys.stderr)
            return EXIT_USAGE
        for listener in source.listeners:
            print(f"orchtui serve: {PROTOCOLS[listener.name]} on {listener.endpoint.endpoint}")
        spool = source.spool
        print(f"  spool: {spool.json_path} (JSON requests), {spool.proto_path} (protobuf requests)")
        if spool.cap is not None:
            where = "this base's files" if spool.family is None else f"every {spool.family}* spool in {spool.base.parent}"
            print(f"  spool cap: {spool.cap} over {where}; the oldest files are deleted beyond it")
        for repair in spool.repairs:  # a crash mid-write left a record that was never acknowledged
            print(f"  {printable(repair, True)}")
        print("  follow it with: orchtui tail <spool file>    stop with ctrl+c", flush=True)
        try:
            reported = -1
            while True:
                time.sleep(5)
                stats = source.stats
                if stats.requests != reported:
                    reported = stats.requests
                    print(
                        f"  {stats.requests:,} requests, {stats.spans:,} spans, {stats.rejected:,} rejected, "
                        f"{stats.rejected_spans:,} unreadable spans, {stats.read_errors:,} read errors",
                        flush=True,
                    )
        except KeyboardInterrupt:
            pass
    finally:
        source.stop()  # the gRPC endpoint first, then the HTTP one, which closes the spool
    return EXIT_OK


def _bad_store_url(inputs: list[str]) -> bool:
    """Say the first store URL among `inputs` that names no store, carries credentials or is malformed (True: exit
    status 2), before the UI starts: `open` and `tail` alike. Nothing is requested from a store here."""
    from .remote import RemoteError, is_url, redact_url, source_for

    for url in filter(is_url, inputs):
        try:
            source_for(url)
        except RemoteError as exc:
            print(f"orchtui: {printable(redact_url(url), True)}: {printable(str(exc), True)}", file=sys.stderr)
            return True
    return False


def run_open(args: argparse.Namespace) -> int:
    from .loading import expand
    from .remote import is_url

    urls = [path for path in args.paths if is_url(path)]
    if _bad_store_url(urls):
        return EXIT_USAGE
    files, missing = expand([path for path in args.paths if not is_url(path)])
    for error in missing:
        print(f"orchtui: {printable(error.source, True)}: {printable(error.message, True)}", file=sys.stderr)
    if not files and not urls:
        if not missing:
            print(f"orchtui open: no files in {', '.join(printable(path, True) for path in args.paths)}", file=sys.stderr)
        return EXIT_USAGE
    from tui.app import make_app  # the UI stack is imported only for interactive commands

    from .sources.factory import sources_for

    sources = sources_for([*urls, *(str(f) for f in files)])  # read once, each source on its own thread
    start_file_workers(sources)  # big files on two cores, forked before the app starts its threads
    _run_app(make_app(sources, max_spans=_max_spans(args), spec=args.spec, judge=judge_from_args(args)))
    return EXIT_OK


def _run_app(app: Any) -> None:  # an OrchApp: the UI stack is imported only for interactive commands
    """Run the app for the rest of the process. Its heap grows with every span it follows, so full collections
    freeze what survived them (orchtui/bulk.py)."""
    freeze_after_full_collections()
    app.run()


def run_demo(args: argparse.Namespace) -> int:
    if args.write:
        from .demo import write_demo_file

        write_demo_file(args.write)
        print(f"wrote the demo traces to {args.write}")
        return EXIT_OK
    from tui.app import make_app

    from .sources.factory import sources_for

    _run_app(make_app(sources_for(demo=args.seconds), spec=args.spec, judge=judge_from_args(args)))
    return EXIT_OK


def _ignore_unreadable_terminal_size() -> None:
    """COLUMNS or LINES that is not a number in ASCII digits is dropped, with a word on stderr. Rich (the tables
    and Textual's console) tests them with `str.isdigit`, which `²` passes, then calls `int`, which refuses it: a
    mistyped variable had ended every command with a traceback and "internal error". Without it the terminal is
    asked, or piped output takes its fixed width."""
    for name in ("COLUMNS", "LINES"):
        value = os.environ.get(name)
        if value is not None and not (value.isascii() and value.isdigit()):
            del os.environ[name]
            print(f"orchtui: {name}={printable(value, True, 40)} is not a number; ignored", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    _ignore_unreadable_terminal_size()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - an internal error gets its own exit status, with the traceback to report
        from .gate import GateError

        if isinstance(exc, GateError):  # a bad --spec file of open, tail or demo (their UI loads it): bad usage
            print(f"orchtui {args.command}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        traceback.print_exc()
        print("orchtui: internal error (exit status 3); please report it with the traceback above", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
