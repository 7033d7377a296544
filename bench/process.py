"""Whole-process cost of `orchtui check --json`: wall time and memory held, at several file sizes, and startup.

For each size (default 10k, 100k and 1M spans of the ingest benchmark's realistic agent traces), in the same run
and alternating to share the machine's noise:

  baseline  a fresh `python` process that reads the file and `orjson.loads` every line (the floor)
  orchtui   a fresh `orchtui check --json FILE` process (files of 32 MiB and more on two cores: orchtui/split_load.py)
  one core  the same with `ORCHTUI_JOBS=1`

and prints the median wall times, their ratios (target: 3.0x or less), the cost per span (linear growth shows as
a flat µs/span column), and the memory held: peak RSS minus the peak RSS of the same command on a 5-line file,
over the file size (target: 0.5x or less). Each file is read once before it is timed. Startup: `orchtui check` on a 5-line file against `python -c pass`
(target: under 0.3 s).
With `--gzip` the files are gzipped (`.jsonl.gz`, level 6) and the baseline decompresses them as it reads; the
memory held is still over the size of the text.

    python bench/process.py [--spans 10000 100000 1000000] [--rounds 3] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from ingest import generate  # noqa: E402

ORJSON_LOOP = "import orjson, sys\nfor line in open(sys.argv[1], 'rb'):\n    line.strip() and orjson.loads(line)\n"
ORJSON_GZIP_LOOP = ORJSON_LOOP.replace("import orjson", "import gzip, orjson").replace("open(", "gzip.open(")


def run(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one child process (its own rusage, via wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # 1: findings, which a generated file has
        raise SystemExit(f"{command} exited {child.returncode}")
    return elapsed, usage.ru_maxrss * 1024


def medians(commands: dict[str, list[str]], rounds: int) -> dict[str, tuple[float, int]]:
    """Median wall time and median peak RSS of each command, run in turn `rounds` times."""
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            samples[name].append(run(command))
    return {
        name: (statistics.median(s for s, _ in runs), int(statistics.median(r for _, r in runs)))
        for name, runs in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gzip", action="store_true", help="gzipped files; the baseline decompresses them too")
    args = parser.parse_args()
    python = sys.executable
    check = [python, "-m", "orchtui", "check", "--json"]
    with tempfile.TemporaryDirectory() as tmp:
        # A cache of this run's own, warmed below: every command runs with the models already priced (the steady
        # state of a second run; the first run of a day also imports genai-prices, ~0.1-0.2 s and ~30 MB).
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        tiny = Path(tmp) / "tiny.otlp.jsonl"
        generate(tiny, 200)
        run([*check, str(tiny)])
        with tiny.open("rb") as lines:
            five = Path(tmp) / "five.otlp.jsonl"
            five.write_bytes(b"".join(lines.readlines()[:5]))
        startup = medians({"python -c pass": [python, "-c", "pass"], "check": [*check, str(five)]}, max(args.rounds, 5))
        tiny_rss = startup["check"][1]
        print(
            f"startup: check on a 5-line file {startup['check'][0]:.3f} s, python -c pass "
            f"{startup['python -c pass'][0]:.3f} s (target: under 0.3 s)"
        )
        print(
            f"{'spans':>10}  {'file MB':>8}  {'orjson s':>8}  {'check s':>8}  {'ratio':>6}  {'µs/span':>8}  "
            f"{'1 core s':>8}  {'ratio':>6}  {'held MB':>8}  {'held/file':>9}"
        )
        for spans in args.spans:
            path = Path(tmp) / f"bench-{spans}.otlp.jsonl"
            count = generate(path, spans)
            size = path.stat().st_size  # of the text, also when it is gzipped
            if args.gzip:
                path = gzipped(path)
            run([*check, str(path)])  # warm-up: the page cache, and the price cache for the file's models
            one_core = ["env", "ORCHTUI_JOBS=1", *check, str(path)]
            baseline = [python, "-c", ORJSON_GZIP_LOOP if args.gzip else ORJSON_LOOP, str(path)]
            commands = {"orjson": baseline, "check": [*check, str(path)], "one core": one_core}
            result = medians(commands, args.rounds)
            (base, _), (ours, rss), (single, _) = result["orjson"], result["check"], result["one core"]
            held = max(0, rss - tiny_rss)
            print(
                f"{count:>10,}  {size / 1e6:>8.1f}  {base:>8.2f}  {ours:>8.2f}  {ours / base:>5.2f}x  "
                f"{ours / count * 1e6:>8.1f}  {single:>8.2f}  {single / base:>5.2f}x  {held / 1e6:>8.1f}  {held / size:>8.2f}x",
                flush=True,
            )
            path.unlink()


def gzipped(path: Path) -> Path:
    """`path` gzipped beside it (level 6, gzip's own default), the text removed."""
    zipped = path.with_name(path.name + ".gz")
    with path.open("rb") as text, gzip.open(zipped, "wb", compresslevel=6) as out:
        shutil.copyfileobj(text, out, 1 << 20)
    path.unlink()
    return zipped


if __name__ == "__main__":
    main()
