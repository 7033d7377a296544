"""The long fuzz run of issue 12: N damaged inputs per format (default 100,000), counting uncaught exceptions and
lost neighbours (spans of undamaged records that were not read). Prints one line per format and exits 1 if any
case crashed or lost a neighbour. The bounded version of the same cases runs in CI (tests/test_fuzz.py).

    python bench/fuzz.py [--cases N] [--seed S] [--format NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzzing import SEEDS, fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="damaged inputs per format")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", action="append", choices=list(SEEDS), help="only these formats")
    args = parser.parse_args()
    failed = False
    for name in args.format or SEEDS:
        started = time.perf_counter()
        outcome = fuzz(name, args.cases, args.seed)
        elapsed = time.perf_counter() - started
        print(f"{name:14} {outcome.cases:>8,} cases  {len(outcome.crashes):>4} uncaught exceptions  "
              f"{len(outcome.lost):>4} lost neighbours  {elapsed:7.1f} s", flush=True)
        for problem in sorted(set(outcome.crashes + outcome.lost))[:10]:
            print(f"    {problem}")
        failed |= bool(outcome.crashes or outcome.lost)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
