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
