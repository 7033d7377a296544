"""The `orchtui` command line. Headless commands never import Textual; interactive ones import it on demand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson

from . import __version__
from .analysis import Analyzer
from .loading import load_paths
from .report import check_document, exceeds, print_tables
from .store import SpanStore

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
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
        "--fail-on",
        choices=("info", "warn", "critical"),
        default="critical",
        help="lowest finding severity that makes the exit status 1 (default: critical)",
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
        type=int,
        default=DEFAULT_MAX_SPANS,
        help=f"keep at most this many spans in memory, evicting the least recently updated whole traces "
        f"(the status line counts them; default {DEFAULT_MAX_SPANS:,})",
    )
    open_.set_defaults(handler=run_open)

    demo = commands.add_parser(
        "demo",
        help="play a bundled multi-agent scenario set live into the UI",
        description="Play realistic agent runs (a clean run, a retrieval loop, a tool timeout with a retry, a "
        "truncated answer, a missing stop reason, a hand-off) into the UI over a few seconds. Needs nothing else.",
    )
    demo.add_argument("--seconds", type=float, default=6.0, help="how long the playback takes (default 6)")
    demo.add_argument("--write", metavar="FILE", help="write the demo traces as OTLP/JSON to FILE instead")
    demo.set_defaults(handler=run_demo)
    return parser


def run_check(args: argparse.Namespace) -> int:
    store = SpanStore()
    report = load_paths(args.paths, store)
    analyses = Analyzer(store).all()
    if args.json:
        document = check_document(analyses, store.errors)
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
    else:
        print_tables(analyses, store.errors, store.skipped, sys.stdout)
    if report.unreadable:
        for error in report.unreadable:
            print(f"orchtui: {error.source}: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FINDINGS if exceeds(analyses, args.fail_on) else EXIT_OK


def run_open(args: argparse.Namespace) -> int:
    from .loading import expand

    files, missing = expand(args.paths)
    for error in missing:
        print(f"orchtui: {error.source}: {error.message}", file=sys.stderr)
    if not files:
        return EXIT_USAGE
    from tui.app import make_app  # the UI stack is imported only for interactive commands

    make_app([str(f) for f in files], max_spans=args.max_spans).run()
    return EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    if args.write:
        from .demo import write_demo_file

        write_demo_file(args.write)
        print(f"wrote the demo traces to {args.write}")
        return EXIT_OK
    from tui.app import make_app

    make_app(demo=True, demo_seconds=args.seconds).run()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
