"""`python -m bench.web`: the web app under load, against the floor of rendering the same page from a dict.

    python -m bench.web                      # 100k events, SQLite and PostgreSQL
    python -m bench.web --size 10k --backends sqlite --requests 100   # a quick look
    python -m bench.web --keep /tmp/pot-bench   # grow each pot once, reuse it in later runs
    python -m bench.web --backends postgresql --workers 4   # pot serve with 4 worker processes (default: one per core)

For each backend it grows the bench crew's pot (`bench.data`) to the size, signs
five members in, opens four proposals, starts a real `pot serve` on 127.0.0.1 and
drives it with a bounded load generator (httpx clients in threads, a fixed
number of requests each): the overview page and a vote (POST, each client its
own member and proposal, changing its vote every time so each request stores an
event), with 1 and 16 concurrent clients, and the overview right after a vote (the
first read of a new head, 1 client, untimed vote first). The overview's anchor is the floor:
the same FastAPI app rendering the same template from a dict computed once
(`bench.web_floor`), served the same way. Nothing is asserted; it prints
requests/s and p50/p99 latency per row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from bench.data import CREW, SLUG, full_pot

POSTGRES_URL = os.environ.get("POT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
POT = str(Path(sys.executable).parent / "pot")
CLIENTS = (1, 16)
VOTERS = CREW[1:]  # five members vote; Ana never does, so no proposal is ever decided by "everyone voted"
PROPOSALS = 4
# Overviews timed right after a vote (each reads the views again).
COLD_REQUESTS = 40
# Seconds a request may take before it counts as an error.
TIMEOUT = 120


@dataclass(frozen=True)
class Member:
    name: str
    cookie: str
    csrf: str


@dataclass(frozen=True)
class Row:
    backend: str
    what: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    def line(self) -> str:
        ok = sorted(self.latencies)
        p50 = statistics.median(ok) * 1000 if ok else float("nan")
        p99 = ok[min(len(ok) - 1, int(len(ok) * 0.99))] * 1000 if ok else float("nan")
        rate = self.requests / self.seconds if self.seconds else 0.0
        return (
            f"| {self.backend} | {self.what} | {self.clients} | {self.requests} | {self.errors} | "
            f"{rate:.0f} | {p50:.1f} | {p99:.1f} |"
        )


def size(label: str) -> int:
    text = label.lower()
    scale = 1_000_000 if text.endswith("m") else 1_000 if text.endswith("k") else 1
    return int(float(text.rstrip("km")) * scale)


@contextmanager
def store(backend: str, work: Path, kept: str | None = None) -> Iterator[str]:
    """A new store for one run; with `kept` (a PostgreSQL schema), that schema, left in place afterwards."""
    if backend == "sqlite":
        yield str(work / "pot.sqlite")
        return
    from sqlalchemy import create_engine, text

    schema = kept or f"pot_bench_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}schema={schema}"
    finally:
        if kept is None:
            engine = create_engine(POSTGRES_URL)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


def prepared(
    backend: str, db: str, n: int, keep: Path | None, log: Callable[[str], None]
) -> tuple[list[Member], list[int]]:
    """`prepare`, or with `keep` a pot prepared by an earlier run: SQLite copies its file, PostgreSQL reuses its schema.

    A kept PostgreSQL pot gathers each run's votes (a few hundred events per run on 100k).
    """
    if keep is None:
        log(f"[{backend}] growing the pot to {n:,} events")
        return prepare(db, n)
    keep.mkdir(parents=True, exist_ok=True)
    kept, about = keep / f"web-{n}.sqlite", keep / f"web-{n}-{backend}.json"
    if not about.exists():
        log(f"[{backend}] growing the pot to {n:,} events (kept in {keep})")
        members, proposals = prepare(str(kept) if backend == "sqlite" else db, n)
        about.write_text(json.dumps({"members": [vars(m) for m in members], "proposals": proposals}))
    else:
        log(f"[{backend}] reusing the {n:,}-event pot kept in {keep}")
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{kept}{suffix}").exists():
                shutil.copyfile(f"{kept}{suffix}", f"{db}{suffix}")
    saved = json.loads(about.read_text())
    return [Member(**m) for m in saved["members"]], list(saved["proposals"])


def prepare(db: str, n: int) -> tuple[list[Member], list[int]]:
    """The pot grown to n events, five members signed in, four proposals open (dated the real today)."""
    from ledger.app import Ledger
    from ledger.store import resolve

    full_pot(db, n)
    ledger = Ledger(resolve(db))
    try:
        today = date.today()
        members = []
        for name in VOTERS:
            made = ledger.invite(SLUG, actor=CREW[0], name=name, days=1)
            signed = ledger.accept_invite(SLUG, token=made.invite.token, passphrase="bench passphrase")
            members.append(Member(name, signed.session.token, signed.session.csrf_token))
        proposals = [
            ledger.propose(
                SLUG, actor=VOTERS[0], amount_minor=100, purpose="bench", recipient=None, closes=None, today=today
            ).proposal_no
            for _ in range(PROPOSALS)
        ]
        ledger.catch_up()
    finally:
        ledger.close()
    return members, proposals


@contextmanager
def serving(argv: list[str], port: int) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([*argv, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/static/style.css", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{' '.join(argv)} did not start: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Request = Callable[[httpx.Client, int, int], httpx.Response]


def load(
    url: str, clients: int, per_client: int, request: Request, before: Request | None = None
) -> tuple[float, list[float], int]:
    """Run `clients` threads, each sending `per_client` requests in turn; wall time, latencies, errors.

    `before`: a request sent before each timed one, not timed (its errors count).
    """
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def failed(send: Request, http: httpx.Client, index: int, i: int) -> bool:
        """Send one request; True if it failed (an error status, or no answer within the timeout)."""
        try:
            return send(http, index, i).status_code >= 300
        except httpx.HTTPError:
            return True

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as http:
            failed(request, http, index, -1)  # Warms the connection; not counted.
            start.wait()
            for i in range(per_client):
                if before is not None and failed(before, http, index, i):
                    with lock:
                        errors[0] += 1
                began = time.perf_counter()
                bad = failed(request, http, index, i)
                took = time.perf_counter() - began
                with lock:
                    if bad:
                        errors[0] += 1
                    else:
                        latencies.append(took)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - began, latencies, errors[0]


def measure(
    backend: str,
    n: int,
    requests: int,
    log: Callable[[str], None],
    keep: Path | None = None,
    workers: int | None = None,
) -> list[Row]:
    rows: list[Row] = []
    schema = f"pot_bench_keep_{n}" if keep is not None else None
    with tempfile.TemporaryDirectory(prefix="pot-bench-web-") as work, store(backend, Path(work), schema) as db:
        members, proposals = prepared(backend, db, n, keep, log)
        pairs = [(m, p) for p in proposals for m in members]  # 20 (member, proposal) pairs: one per client

        def overview(http: httpx.Client, index: int, _: int) -> httpx.Response:
            member = members[index % len(members)]
            return http.get(f"/p/{SLUG}/", cookies={"pot_session": member.cookie})

        def vote(http: httpx.Client, index: int, i: int) -> httpx.Response:
            member, proposal = pairs[index % len(pairs)]
            position = "agree" if i % 2 == 0 else "abstain"
            return http.post(
                f"/p/{SLUG}/api/proposals/{proposal}/votes",
                json={"position": position, "reason": ""},
                headers={"X-CSRF-Token": member.csrf},
                cookies={"pot_session": member.cookie},
            )

        # SQLite has one writer anyway; PostgreSQL one per core, as README advises (docs/benchmarks.md:
        # on 2 cores, 4 workers beside the database and the load generator doubled the voters' p99).
        processes = str(workers or (1 if backend == "sqlite" else os.cpu_count() or 1))
        with serving([POT, "--db", db, "serve", "--workers", processes], free_port()) as url:
            for clients in CLIENTS:
                per = max(1, requests // clients)
                log(f"[{backend}] overview, {clients} client(s)")
                took, lat, err = load(url, clients, per, overview)
                rows.append(Row(backend, f"overview ({n:,} events)", clients, clients * per, err, took, lat))
                log(f"[{backend}] vote, {clients} client(s)")
                took, lat, err = load(url, clients, per, vote)
                rows.append(Row(backend, "vote (POST)", clients, clients * per, err, took, lat))
            # The overview the first time after a change: what a page costs when the views must be read
            # again (the rows above mostly read the same head). Bounded: each of these reads the views.
            per = min(requests, COLD_REQUESTS)
            log(f"[{backend}] overview right after a vote, 1 client")
            took, lat, err = load(url, 1, per, overview, before=vote)
            rows.append(Row(backend, "overview after a vote", 1, per, err, took, lat))
        floor = [sys.executable, "-m", "bench.web_floor", db, members[0].cookie]
        with serving(floor, free_port()) as url:
            for clients in CLIENTS:
                per = max(1, requests // clients)
                log(f"[{backend}] floor: the overview's template from a dict, {clients} client(s)")
                took, lat, err = load(url, clients, per, lambda http, _i, _n: http.get("/"))
                rows.append(Row(backend, "floor: overview from a dict", clients, clients * per, err, took, lat))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", help="events in the pot (default 100k)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--requests", type=int, default=320, help="requests per row (default 320)")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="grow each pot once and keep it (SQLite: a file in DIR, copied for each run; PostgreSQL: the schema"
        " pot_bench_keep_N, whose votes add up from run to run)",
    )
    parser.add_argument(
        "--workers", type=int, help="pot serve's worker processes (default: 1 on SQLite, one per core on PostgreSQL)"
    )
    args = parser.parse_args()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    rows: list[Row] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        rows += measure(backend, size(args.size), args.requests, log, args.keep, args.workers)
    kept = f" --keep {args.keep}" if args.keep else ""
    kept += f" --workers {args.workers}" if args.workers else ""
    print(f"Run: `python -m bench.web --size {args.size} --backends {args.backends} --requests {args.requests}{kept}`")
    print(f"on {time.strftime('%Y-%m-%d', time.gmtime())}\n")
    print("| store | request | clients | requests | errors | req/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()
