"""`make bench`: whole-process timings of `pot` against the floors, side by side.

    .venv/bin/python -m bench                      # 10k and 100k events
    .venv/bin/python -m bench --big                # and 1M
    .venv/bin/python -m bench --sizes 10k --runs 3 --write docs/benchmarks.md
    .venv/bin/python -m bench --sizes demo,10k --instant   # issue 22's rows only: reads, help, writes

Each row times one `pot` command (a whole process, as a person runs it) and its
anchor in alternating order, `--runs` pairs: the median and min–max of each,
its peak memory (the child's maxrss), and the ratio computed pair by pair.
Nothing here asserts a time; the figures are for people to read.

`pot` runs cold here (`POT_WARM=0`: it loads everything itself, as before issue 22),
except in the rows marked "warm": those run as a crew's second and later commands
do, handed to a warm `pot` (cli_warm) that the bench starts in its own folder and
stops at the end. A warm row's peak memory is the client's; the forked child's
is the warm process's, shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.floor import INSERT_CODE, VIEW_CODE

POT = [str(Path(sys.executable).parent / "pot")]
FLOOR = [sys.executable, "-m", "bench.floor"]
DATA = [sys.executable, "-m", "bench.data"]


def size(label: str) -> int:
    """ "10k" -> 10,000; "1M" -> 1,000,000; a plain number as it is; "demo" (the demo crew's pot) 0."""
    if label == "demo":
        return 0
    factor = {"k": 1_000, "K": 1_000, "M": 1_000_000}.get(label[-1:], 1)
    return int(label[:-1] if factor > 1 else label) * factor


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Row:
    size: str
    what: str
    anchor: str
    subject: list[Run]
    base: list[Run]

    @property
    def ratios(self) -> list[float]:
        return [s.seconds / b.seconds for s, b in zip(self.subject, self.base, strict=True)]


def run(argv: list[str], prepare: Callable[[], None] | None = None, env: dict[str, str] | None = None) -> Run:
    """Run one process to the end; its wall time and peak resident memory."""
    if prepare is not None:
        prepare()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err}")
    return Run(seconds, usage.ru_maxrss / 1024)


def pairs(
    runs: int,
    subject: list[str],
    anchor: list[str],
    prepare_subject: Callable[[], None] | None = None,
    prepare_anchor: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[list[Run], list[Run]]:
    """`runs` pairs, alternating which goes first, so drift and caches hit both alike; `env` is the subject's."""
    mine, theirs = [], []
    for i in range(runs):
        if i % 2 == 0:
            mine.append(run(subject, prepare_subject, env))
            theirs.append(run(anchor, prepare_anchor))
        else:
            theirs.append(run(anchor, prepare_anchor))
            mine.append(run(subject, prepare_subject, env))
    return mine, theirs


def fmt_runs(runs: list[Run]) -> str:
    times = [r.seconds for r in runs]
    return f"{statistics.median(times):.3f} ({min(times):.3f}–{max(times):.3f})"


def fmt_ratio(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"


def peak(runs: list[Run]) -> str:
    return f"{max(r.peak_mb for r in runs):.0f}"


# Issue 22's reads, each with --json as a script reads it: (row name, arguments after `--db DB`).
INSTANT_READS = (
    ("balance", ["balance", "--json"]),
    ("members", ["members", "--json"]),
    ("proposals", ["proposals", "--json"]),
    ("history --since (a month)", ["history", "--since", "2025-12-01", "--until", "2025-12-31", "--json"]),
    ("trust", ["trust", "--json"]),
    ("pledges", ["pledges", "--json"]),
)


class WarmPot:
    """A warm `pot` for the bench's own folder: started by a first cold run, stopped at the end."""

    def __init__(self, work: Path, db: Path) -> None:
        folder = work / "warm"
        folder.mkdir(mode=0o700, exist_ok=True)
        self.folder = folder
        self.env = {**os.environ, "POT_WARM": "1", "POT_WARM_DIR": str(folder), "POT_WARM_IDLE": "3600"}
        subprocess.run([*POT, "--db", str(db), "balance"], env=self.env, check=True, capture_output=True)
        deadline = time.monotonic() + 180
        while not list(folder.glob("pot-*.sock")):
            if time.monotonic() > deadline:
                raise SystemExit("the warm pot did not start in 180 s")
            time.sleep(0.1)
        run([*POT, "--db", str(db), "balance"], env=self.env)  # its first child

    def stop(self) -> None:
        for lock in self.folder.glob("pot-*.sock.lock"):
            pid = lock.read_text().strip()
            if pid.isdigit():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGTERM)


def measure_instant(label: str, db: Path, runs: int, work: Path, log: Callable[[str], None]) -> list[Row]:
    """Issue 22: a crew's everyday commands against the least a process could do for the same answer,
    each cold (`pot` loading everything itself) and warm (handed to a warm `pot`)."""
    rows: list[Row] = []
    hledger = shutil.which("hledger")
    journal = work / "instant.journal"
    subprocess.run([*POT, "--db", str(db), "export", "--format", "journal", "-o", str(journal)], check=True)
    run([*POT, "--db", str(db), "balance"])  # the views caught up, as after any command
    warm = WarmPot(work, db)
    modes: list[tuple[str, dict[str, str] | None]] = [("", None), (" (warm)", warm.env)]
    try:
        for mark, env in modes:
            for what, args in INSTANT_READS:
                log(f"[{label}] pot {what}{mark}")
                argv = [*POT, "--db", str(db), *args]
                mine, theirs = pairs(runs, argv, [sys.executable, "-c", VIEW_CODE, str(db)], env=env)
                rows.append(Row(label, f"pot {what}{mark}", "python+sqlite3 SELECT on the view", mine, theirs))
                if hledger:
                    mine, theirs = pairs(runs, argv, [hledger, "-f", str(journal), "bal"], env=env)
                    rows.append(Row(label, f"pot {what}{mark}", "hledger bal", mine, theirs))
        click = [sys.executable, "-c", "import click"]
        for mark, env in modes:
            for args in (["--help"], ["vote", "--help"]):
                log(f"[{label}] pot {' '.join(args)}{mark}")
                mine, theirs = pairs(runs, [*POT, *args], click, env=env)
                rows.append(Row(label, f"pot {' '.join(args)}{mark}", 'python -c "import click"', mine, theirs))
        scratch = work / "insert-floor.sqlite"
        insert = [sys.executable, "-c", INSERT_CODE, str(scratch)]
        subprocess.run(
            [*POT, "--db", str(db), "--as", "Bo", "propose", "5", "--purpose", "bench"], check=True, capture_output=True
        )
        listed = subprocess.run(
            [*POT, "--db", str(db), "proposals", "--json"], check=True, capture_output=True, text=True
        )
        proposal = str(max(p["no"] for p in json.loads(listed.stdout)))
        # Each vote stores an event: the same vote again would store nothing.
        positions = iter(["agree", "abstain"] * runs * len(modes))
        for mark, env in modes:
            log(f"[{label}] pot contribute, pot vote{mark}")
            contribute = [*POT, "--db", str(db), "--as", "Ana", "contribute", "Bo", "10"]
            mine, theirs = pairs(runs, contribute, insert, env=env)
            rows.append(Row(label, f"pot contribute (one event){mark}", "python+sqlite3 INSERT", mine, theirs))
            mine, theirs = [], []
            for _ in range(runs):
                vote = [*POT, "--db", str(db), "--as", "Cy", "vote", proposal, next(positions)]
                mine.append(run(vote, env=env))
                theirs.append(run(insert))
            rows.append(Row(label, f"pot vote (one event){mark}", "python+sqlite3 INSERT", mine, theirs))
    finally:
        warm.stop()
    return rows


def measure(label: str, n: int, runs: int, work: Path, log: Callable[[str], None], *, instant: bool) -> list[Row]:
    rows: list[Row] = []
    hledger = shutil.which("hledger")
    if n == 0:
        demo = work / "demo.sqlite"
        subprocess.run([*POT, "--db", str(demo), "demo"], check=True, capture_output=True)
        return measure_instant(label, demo, runs, work, log)

    log(f"[{label}] setting up: crew pot, {n:,}-row statement, {n:,}-event pot")
    crew = work / "crew.sqlite"
    subprocess.run([*DATA, "crew", str(crew)], check=True)
    statement = work / "statement.csv"
    subprocess.run([*DATA, "csv", str(statement), str(n)], check=True)
    full = work / "pot.sqlite"
    started = time.perf_counter()
    events = int(subprocess.run([*DATA, "full", str(full), str(n)], check=True, capture_output=True).stdout)
    log(f"[{label}] generated {events:,} events in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    caught = run([*POT, "--db", str(full), "balance", "--json"])
    log(f"[{label}] first catch-up of the views: {caught.seconds:.1f} s, {caught.peak_mb:.0f} MB")
    journal = work / "pot.journal"
    subprocess.run(
        [*POT, "--db", str(full), "export", "--format", "journal", "-o", str(journal)], check=True, capture_output=True
    )
    floor = work / "floor.sqlite"
    subprocess.run([*DATA, "floor", str(floor), str(full)], check=True)
    if instant:
        return measure_instant(label, full, runs, work, log)

    # import: a fresh copy of the crew pot for every run, copied before the clock starts.
    target, floor_target = work / "import.sqlite", work / "import-floor.sqlite"

    def fresh_target() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(crew, target)

    def fresh_floor() -> None:
        floor_target.unlink(missing_ok=True)

    log(f"[{label}] pot import")
    mine, theirs = pairs(
        runs,
        [*POT, "--db", str(target), "--as", "Ana", "import", str(statement), "--json"],
        [*FLOOR, "import", str(statement), str(floor_target)],
        fresh_target,
        fresh_floor,
    )
    rows.append(Row(label, f"pot import ({n:,} rows)", "sqlite3 executemany", mine, theirs))

    warm = WarmPot(work, full)
    try:
        for command in ("balance", "trust"):
            log(f"[{label}] pot {command}")
            argv = [*POT, "--db", str(full), command, "--json"]
            mine, theirs = pairs(runs, argv, [*FLOOR, "balance", str(floor)])
            rows.append(Row(label, f"pot {command} --json", "python+sqlite3 GROUP BY", mine, theirs))
            if hledger:
                mine, theirs = pairs(runs, argv, [hledger, "-f", str(journal), "bal"])
                rows.append(Row(label, f"pot {command} --json", "hledger bal", mine, theirs))
            log(f"[{label}] pot {command} (warm)")
            mine, theirs = pairs(runs, argv, [*FLOOR, "balance", str(floor)], env=warm.env)
            rows.append(Row(label, f"pot {command} --json (warm)", "python+sqlite3 GROUP BY", mine, theirs))
    finally:
        warm.stop()

    log(f"[{label}] pot contribute")
    mine, theirs = pairs(
        runs,
        [*POT, "--db", str(full), "--as", "Ana", "contribute", "Bo", "10"],
        [*POT, "--db", str(crew), "--as", "Ana", "contribute", "Bo", "10"],
    )
    rows.append(Row(label, "pot contribute (one event)", "same on the empty pot", mine, theirs))

    log(f"[{label}] pot rebuild")
    mine, theirs = pairs(runs, [*POT, "--db", str(full), "rebuild"], [*FLOOR, "readlog", str(full)])
    rows.append(Row(label, f"pot rebuild ({events:,} events)", "read + decode the log", mine, theirs))
    # Issue 22's rows at a crew's scale (the demo pot and up to 10k events), after the others.
    return rows + (measure_instant(label, full, runs, work, log) if n <= 10_000 else [])


def table(rows: list[Row]) -> str:
    lines = [
        "| size | pot command | median s (min–max) | peak MB "
        "| anchor | anchor median s (min–max) | anchor MB | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.size} | {r.what} | {fmt_runs(r.subject)} | {peak(r.subject)} | {r.anchor} | "
            f"{fmt_runs(r.base)} | {peak(r.base)} | {fmt_ratio(r.ratios)} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        hledger = subprocess.run(["hledger", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        hledger = "not installed"
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; {hledger}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="demo,10k,100k", help="comma-separated: demo, 10k, 100k, 1M (default demo,10k,100k)"
    )
    parser.add_argument("--big", action="store_true", help="add the 1M size (slow)")
    parser.add_argument("--runs", type=int, default=5, help="pairs per row (default 5)")
    parser.add_argument("--write", type=Path, metavar="FILE", help="also write the table as markdown to FILE")
    parser.add_argument("--instant", action="store_true", help="only issue 22's rows (reads, help, writes)")
    args = parser.parse_args()
    labels = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if args.big and "1M" not in labels:
        labels.append("1M")
    try:
        sizes = {label: size(label) for label in labels}
    except ValueError:
        parser.error(f"sizes are numbers like 10k, 100k or 1M, not {args.sizes!r}")

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    os.environ["POT_WARM"] = "0"  # Cold unless a row says warm (`WarmPot`), and no warm process left behind.

    # What an installed `pot` runs: compiled bytecode (pip compiles it on install). A session with
    # PYTHONDONTWRITEBYTECODE set would otherwise compile every module in every timed process.
    root = Path(__file__).resolve().parent.parent
    sources = [
        str(root / name)
        for name in (
            "cli.py",
            "cli_shared.py",
            "cli_reads.py",
            "cli_quick.py",
            "cli_warm.py",
            "cli_warm_server.py",
            "cli_commands",
            "domain",
            "ledger",
            "projections",
            "web",
        )
    ]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *sources], check=True, capture_output=True)
    started = time.perf_counter()
    rows: list[Row] = []
    for label in labels:
        with tempfile.TemporaryDirectory(prefix=f"pot-bench-{label}-") as work:
            rows += measure(label, sizes[label], args.runs, Path(work), log, instant=args.instant)
    took = time.perf_counter() - started
    report = (
        f"Machine: {machine()}\n\n"
        f"Run: `python -m bench --sizes {','.join(labels)} --runs {args.runs}` "
        f"on {time.strftime('%Y-%m-%d', time.gmtime())}, {took / 60:.1f} minutes in all\n\n"
        f"{table(rows)}\n"
    )
    print(report)
    if args.write is not None:
        write(args.write, report)


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def write(path: Path, report: str) -> None:
    """Put the report between the markers in `path`, keeping the prose around them."""
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n{report}{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    main()
