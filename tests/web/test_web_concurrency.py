"""Many members writing at once through the HTTP API, beside `pot` processes on the same store (issue 19).

Sixteen signed-in clients (the four members, four sessions each) propose, vote
and record contributions at the same moment, while four CLI processes record
contributions too: on a SQLite file behind one worker, then on PostgreSQL behind
four. Afterwards the log holds exactly the events the successful writes made,
each once: every answer's event number is distinct, each event type is counted
to the write, every ref is there once, and `pot verify` is ok.
"""

from __future__ import annotations

import random
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import postgres_store, pot
from tests.web.conftest import PASSPHRASE, POT_BIN, Server, SignedClient, make_crew, running_server
from tests.web.test_security import login

MEMBERS = ("Ana", "Bo", "Cy", "Dee")
SESSIONS_PER_MEMBER = 4
REQUESTS_PER_CLIENT = 10
CLI_PROCESSES = 4
WRITES_PER_PROCESS = 4
SEEDED_PROPOSALS = 4


@dataclass
class Tally:
    """What the clients were told, gathered from every thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)  # event type -> events the 2xx answers made
    numbers: list[int] = field(default_factory=list)  # event numbers the answers named
    refs: list[str] = field(default_factory=list)
    proposals: list[int] = field(default_factory=list)

    def add(self, status: int, *, events: dict[str, int] | None = None, no: int | None = None) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.written.update(events or {})
            if no is not None:
                self.numbers.append(no)


def signed_in_crew(server: Server) -> list[SignedClient]:
    """Four sessions for each member: the first through their invite, three more by passphrase."""
    clients = []
    for name in MEMBERS:
        clients.append(server.sign_in(name))
        for _ in range(SESSIONS_PER_MEMBER - 1):
            http = server.client()
            assert login(server, http, name, PASSPHRASE).status_code == 303
            clients.append(SignedClient.wrap(http, server.slug))
    return clients


def client_work(client: SignedClient, index: int, start: threading.Barrier, tally: Tally) -> None:
    rng = random.Random(index)
    start.wait()
    for i in range(REQUESTS_PER_CLIENT):
        # Members who are not treasurers try one contribution too: refused (403) among the writes.
        contributes = i % 3 == 1 and (client.member == "Ana" or i == 1)
        if i % 3 == 0:
            answer = client.post("proposals", {"amount": "0.50", "purpose": f"client {index}, request {i}"})
            if answer.status_code == 201:
                with tally.lock:
                    tally.proposals.append(answer.json()["no"])
            tally.add(answer.status_code, events={"withdrawal_proposed": 1} if answer.status_code == 201 else None)
        elif contributes:
            ref = f"web-{index}-{i}"
            answer = client.post("contributions", {"member": rng.choice(MEMBERS), "amount": "1.25", "ref": ref})
            if answer.status_code == 201:
                with tally.lock:
                    tally.refs.append(ref)
                tally.add(201, events={"contribution_recorded": 1}, no=answer.json()["no"])
            else:
                tally.add(answer.status_code)
        else:
            with tally.lock:
                known = SEEDED_PROPOSALS + len(tally.proposals)
            position = rng.choice(["agree", "agree", "abstain", "disagree"])
            # SPEC §8: a disagree needs a reason; the same one for every vote, so a repeat is still a repeat.
            vote = {"position": position, "reason": "as said"}
            answer = client.post(f"proposals/{rng.randint(1, known)}/votes", vote)
            if answer.status_code == 201:
                body = answer.json()
                # The vote that completes a proposal's votes decides it: a second event.
                decided = {"proposal_decided": 1} if body["status"] != "open" else {}
                tally.add(201, events={"vote_cast": 1, **decided}, no=body["no"])
            else:
                tally.add(answer.status_code)


def cli_work(server: Server, process: int, start: threading.Barrier) -> list[str]:
    """One after another, `pot` processes recording contributions; the refs of those that succeeded."""
    start.wait()
    recorded = []
    for i in range(WRITES_PER_PROCESS):
        ref = f"cli-{process}-{i}"
        args = [POT_BIN, "--db", server.db, "--as", "Ana", "contribute", "Cy", "2", "--ref", ref]
        done = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        recorded.append(ref)
    return recorded


def crew_writes_at_once(server: Server) -> None:
    for n in range(SEEDED_PROPOSALS):
        made = pot(server.db, "--as", "Bo", "propose", "1", "--purpose", f"seed {n}", today=None)
        assert made.code == 0, made.err
    before = pot(server.db, "verify", "--json").json()["events"]
    clients = signed_in_crew(server)
    tally = Tally()
    start = threading.Barrier(len(clients) + CLI_PROCESSES)
    with ThreadPoolExecutor(max_workers=len(clients) + CLI_PROCESSES) as pool:
        web = [pool.submit(client_work, c, i, start, tally) for i, c in enumerate(clients)]
        cli = [pool.submit(cli_work, server, p, start) for p in range(CLI_PROCESSES)]
        for future in web:
            future.result()
        cli_refs = [ref for future in cli for ref in future.result()]

    # Every answer was a success or a rule's refusal (not a treasurer, a proposal already decided).
    # 200: the same vote again, which stores nothing (issue 18).
    assert set(tally.statuses) <= {200, 201, 403, 409}, tally.statuses
    assert tally.statuses[201] > len(clients) * REQUESTS_PER_CLIENT // 2, tally.statuses
    assert tally.statuses[403] > 0, tally.statuses  # the refusals really ran among the writes

    verified = pot(server.db, "verify", "--json")
    assert verified.code == 0, verified.err
    assert verified.json()["ok"] is True
    events = verified.json()["events"]
    written = sum(tally.written.values()) + len(cli_refs)
    assert events == before + written, (events, before, tally.written, len(cli_refs))

    history = pot(server.db, "history", "--json", today=None).json()
    since = [item for item in history if item["no"] > before]
    types = Counter(item["type"] for item in since)
    assert types == tally.written + Counter({"contribution_recorded": len(cli_refs)})
    # No two answers named the same event, and each is the event of its kind.
    assert len(set(tally.numbers)) == len(tally.numbers)
    kinds = {item["no"]: item["type"] for item in since}
    assert {kinds[no] for no in tally.numbers} <= {"contribution_recorded", "vote_cast"}
    refs = [item["ref"] for item in since if item["type"] == "contribution_recorded"]
    assert sorted(refs) == sorted(tally.refs + cli_refs)
    assert sorted(tally.proposals) == list(range(SEEDED_PROPOSALS + 1, SEEDED_PROPOSALS + 1 + len(tally.proposals)))


@pytest.fixture
def sqlite_one_worker(tmp_path: Path) -> Iterator[Server]:
    db = str(tmp_path / "crew.sqlite")
    make_crew(db)
    with running_server(db, workers=1) as server:
        yield server


@pytest.fixture
def postgres_four_workers() -> Iterator[Server]:
    with postgres_store() as url:
        make_crew(url)
        with running_server(url, workers=4) as server:
            yield server


@pytest.mark.slow
def test_sixteen_clients_and_four_cli_processes_on_sqlite(sqlite_one_worker: Server) -> None:
    crew_writes_at_once(sqlite_one_worker)


@pytest.mark.slow
def test_sixteen_clients_and_four_cli_processes_on_postgresql_with_four_workers(postgres_four_workers: Server) -> None:
    crew_writes_at_once(postgres_four_workers)
