"""Signed consent in a real browser (SPEC §7, Playwright driving Debian's Chromium): keys.js against the server.

Bo signs in; his browser makes a non-extractable Ed25519 key, keeps it in
IndexedDB and registers it. He proposes, votes and sets his pledge from the
pages, and `pot verify` counts all three signed. A second browser context for Bo
registers a second key, and his keys page in each marks that device's own. When
the server's operator rewrites an earlier event in the database and recomputes
the chain (and the snapshots, and the views), Bo's device, which saw the old head,
shows a warning that cannot be dismissed, and `verify` names his signatures,
which saw the old chain. The page's canonical JSON is Python's, byte for byte, and
signs the README's test vector. No page logs a CSP violation or any other error.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from domain import chain, signing
from domain.errors import BadInput
from domain.events import PotEvent, record_of
from domain.pot import Pot, pot_id
from domain.values import format_amount, parse_amount, parse_percent
from ledger.app import Ledger
from ledger.store import resolve
from tests.conftest import pot
from tests.reliability import rawstore
from tests.web.conftest import PASSPHRASE, Server

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent.parent / "vendor" / "axe.min.js"
README = Path(__file__).parent.parent.parent / "README.md"

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    _why = f"the browser tests need {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(_why, pytrace=False)
    pytest.skip(_why, allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
    yield launched
    launched.close()


@dataclass
class Device:
    """One browser context of a member: its page, and every error it logged."""

    name: str
    page: Page
    server: Server
    console: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(f"{self.server.url}/p/{self.server.slug}/{path}")

    def api(self, path: str) -> Any:
        """A GET through the page's own session, as keys.js makes it."""
        url = f"/p/{self.server.slug}/api/{path}"
        return self.page.evaluate("async url => (await fetch(url)).json()", url)

    def wait_for_keys(self, member: str, count: int) -> list[dict[str, Any]]:
        """Wait until the pot lists `count` keys for `member` (keys.js registers in the background)."""
        # A wait, not a timing assertion: the limit only stops a test that would otherwise hang.
        for _ in range(300):
            found = [k for k in self.api("keys") if k["member"] == member]
            if len(found) >= count:
                return found
            self.page.wait_for_timeout(100)
        raise AssertionError(f"{member} has {len(found)} keys, not {count}")

    def held_key(self) -> Any:
        """What this device's IndexedDB holds for the member: the key's id and whether it could be read out."""
        return self.page.evaluate(
            """slot => new Promise((resolve, reject) => {
                const open = indexedDB.open("commonpot-keys", 1);
                open.onerror = () => reject(open.error);
                open.onsuccess = () => {
                    const get = open.result.transaction("keys").objectStore("keys").get(slot);
                    get.onsuccess = () => {
                        const r = get.result;
                        resolve(r && {keyId: r.keyId, registered: r.registered,
                                      extractable: r.keyPair.privateKey.extractable,
                                      algorithm: r.keyPair.privateKey.algorithm.name});
                    };
                    get.onerror = () => reject(get.error);
                };
            })""",
            f"{self.server.slug}\n{self.name.lower()}",
        )


def open_device(browser: Browser, server: Server, name: str, *, init_script: str | None = None) -> Device:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    if init_script is not None:
        context.add_init_script(init_script)
    device = Device(name, context.new_page(), server)

    def log(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            device.console.append(msg.text)

    def crashed(error: Error) -> None:
        device.console.append(f"page error: {error}")

    device.page.on("console", log)
    device.page.on("pageerror", crashed)
    return device


def accept_invite(device: Device) -> None:
    device.page.goto(device.server.invite(device.name))
    device.page.get_by_label("Passphrase").fill(PASSPHRASE)
    device.page.get_by_label("The same again").fill(PASSPHRASE)
    device.page.get_by_role("button", name="Set passphrase and sign in").click()
    expect(device.page.get_by_role("heading", level=1)).to_have_text("Maastricht crew")


def sign_in(device: Device) -> None:
    device.go("login")
    device.page.get_by_label("Your name").fill(device.name)
    device.page.get_by_label("Passphrase").fill(PASSPHRASE)
    device.page.get_by_role("button", name="Sign in").click()
    expect(device.page.get_by_role("heading", level=1)).to_have_text("Maastricht crew")


def verify(server: Server) -> Any:
    result = pot(server.db, "verify", "--json", today=None)
    assert result.code == 0, result.err
    return result.json()


def history(server: Server) -> list[dict[str, Any]]:
    return list(pot(server.db, "history", "--json", today=None).json())


# --------------------------------------------------------------------------- the operator, with the database
def take_snapshot(server: Server) -> None:
    """A snapshot of the pot as it is, as any pot past 200 events has (this one is shorter)."""
    ledger = Ledger(resolve(server.db))
    try:
        loaded: Pot = ledger.app.repository.get(pot_id(server.slug))
        assert ledger.app.snapshots is not None
        ledger.app.snapshots.put([Pot.Snapshot.take(loaded)])
    finally:
        ledger.close()


def snapshot_count(server: Server) -> int:
    with sqlite3.connect(server.db) as conn:
        return int(conn.execute("SELECT count(*) FROM stored_snapshots").fetchone()[0])


def rewritten(server: Server, no: int, **changes: Any) -> dict[int, bytes]:
    """The stored rows of event `no` with `changes`, and of every event after it with its `prev` recomputed:
    a history whose chain holds from start to end, as an operator who read this code can make."""
    ledger = Ledger(resolve(server.db))
    try:
        events = [e for e in ledger.app.events.get(pot_id(server.slug)) if isinstance(e, PotEvent)]
        rows: dict[int, bytes] = {}
        prev = chain.GENESIS
        for event in events:
            if event.no == no:
                assert all(hasattr(event, k) for k in changes), changes
                event = event.model_copy(update=changes)
            elif event.no > no:
                event = event.model_copy(update={"prev": prev})
            if event.no >= no:
                rows[event.no] = ledger.app.mapper.to_stored_event(event).state
            prev = chain.digest(record_of(event))
        return rows
    finally:
        ledger.close()


def operator_writes(server: Server, rows: dict[int, bytes]) -> None:
    """Write these event rows behind the ledger's back, then redo what depends on them, as the database's owner:
    the append-only and insert-only triggers dropped, the snapshots deleted and one taken again from the events
    as they now are, and the views rebuilt (`--force`: the views' recorded head no longer matches, by design)."""
    with rawstore.unguarded(server.db) as run:
        for version, state in rows.items():
            run("UPDATE {events} SET state = :s WHERE originator_version = :v", s=state, v=version)
    with sqlite3.connect(server.db) as conn:
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stored_snapshots'"
        ):
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("DELETE FROM stored_snapshots")
    take_snapshot(server)
    with sqlite3.connect(server.db) as conn:
        # Opening the store put its guards back: the rewrite leaves no trace there either.
        guards = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0]
        assert guards == 4, guards
    rebuilt = pot(server.db, "rebuild", "--force", today=None)
    assert rebuilt.code == 0, rebuilt.err


def fits_and_passes_axe(device: Device) -> None:
    """The page as every page is checked in test_browser: no sideways scroll at 390 px, no serious axe finding."""
    page = device.page
    scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], f"{page.url} scrolls sideways ({scroll})"
    page.evaluate(AXE.read_text())
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id)"""
    )
    assert not found, f"{page.url}: {found}"


def errors(devices: list[Device]) -> list[str]:
    return [f"{d.name}: {line}" for d in devices for line in d.console]


# --------------------------------------------------------------------------- the whole story
def test_bo_signs_from_two_devices_and_his_device_witnesses_a_rewritten_history(
    browser: Browser, sqlite_server: Server
) -> None:
    server = sqlite_server
    phone = open_device(browser, server, "Bo")
    accept_invite(phone)

    # The first sign-in on this device makes a key that cannot be read out, keeps it and registers it.
    [first] = phone.wait_for_keys("Bo", 1)
    held = phone.held_key()
    assert held == {"keyId": first["key_id"], "registered": True, "extractable": False, "algorithm": "Ed25519"}
    assert first["key_id"] == signing.key_id_of(signing.parse_public_key(first["public_key"]))
    assert history(server)[-1]["type"] == "member_key_added"

    # Bo proposes and votes from the pages: both leave the page signed with that key.
    phone.go("propose")
    phone.page.get_by_label("Amount").fill("12.5")
    phone.page.get_by_label("What it is for").fill('Thé & "café"\nfor the meeting')
    phone.page.get_by_label("Who receives it").fill("dee")
    phone.page.get_by_role("button", name="Propose").click()
    expect(phone.page.get_by_role("heading", level=1)).to_have_text("Proposal 1: 12.50 EUR")
    phone.page.get_by_label("agree", exact=True).check()
    phone.page.get_by_label("Reason").fill("  Ça ira,\n\\o/  ")
    phone.page.get_by_role("button", name="Vote").click()
    expect(phone.page.get_by_role("heading", name="Change your vote")).to_be_visible()
    # And his own pledge (the README adds pledges to SPEC §7's list): the percent as the pot records it.
    phone.go("pledges")
    phone.page.get_by_label("Percent of income").fill(" 7.50 ")
    phone.page.get_by_role("button", name="Set pledge").click()
    expect(phone.page.locator(".cards li", has_text="Bo")).to_contain_text("% of income from")

    checked = verify(server)
    assert checked["ok"] is True
    assert checked["signed"] == 3
    assert checked["bad_signatures"] == []
    items = history(server)
    vote = next(i for i in items if i["type"] == "vote_cast")
    proposal = next(i for i in items if i["type"] == "withdrawal_proposed")
    pledge = next(i for i in items if i["type"] == "pledge_set")
    assert (vote["reason"], proposal["recipient"]) == ("Ça ira,\n\\o/", "Dee")
    assert proposal["purpose"] == 'Thé & "café"\nfor the meeting'
    assert (pledge["member"], pledge["kind"], pledge["percent"], pledge["monthly"]) == ("Bo", "percent", "7.5", None)
    signed = (vote, proposal, pledge)
    assert {i["signature"]["key_id"] for i in signed} == {first["key_id"]}
    assert vote["signature"]["seen"] in {i["digest"] for i in items}

    # A second device for Bo: a second key. Each device's keys page marks its own.
    laptop = open_device(browser, server, "Bo")
    sign_in(laptop)
    keys = laptop.wait_for_keys("Bo", 2)
    second = keys[1]
    assert second["key_id"] != first["key_id"]
    for device, own, other in ((laptop, second, first), (phone, first, second)):
        device.go("keys")
        expect(device.page.locator("#device-key")).to_contain_text(f"This device holds key {own['key_id']}")
        expect(device.page.locator(f'[data-key-id="{own["key_id"]}"] .device-mark')).to_be_visible()
        expect(device.page.locator(f'[data-key-id="{other["key_id"]}"] .device-mark')).to_be_hidden()
        expect(device.page.locator("#my-keys li")).to_have_count(2)
        fits_and_passes_axe(device)

    # The witness: the phone remembers the head it saw; the history goes on (Cy contributes).
    phone.go("")
    head_now = phone.api("session")["head"]
    phone.page.wait_for_function(
        "([key, head]) => localStorage.getItem(key) === head",
        arg=[f"commonpot:{server.slug}:head", json.dumps(head_now, separators=(",", ":"))],
    )
    remembered = json.loads(phone.page.evaluate(f"localStorage.getItem('commonpot:{server.slug}:head')"))
    assert remembered == head_now
    banner = phone.page.locator("#witness")
    expect(banner).to_be_hidden()
    assert pot(server.db, "--as", "Ana", "contribute", "Cy", "5", today=None).code == 0
    take_snapshot(server)  # A longer pot has one: the operator has to redo it too.

    # The server's operator rewrites an earlier event in the database: Bo's 100.00 of the crew's start
    # becomes 1,000.00, and every later event's `prev` is recomputed, so the chain holds end to end.
    original = rawstore.states(server.db)
    gift = next(i for i in items if i["type"] == "contribution_recorded")
    assert gift["no"] < proposal["no"] < remembered["no"]
    forged = rewritten(server, gift["no"], amount_minor=100_000)
    assert set(forged) == set(range(gift["no"], max(original) + 1))
    operator_writes(server, forged)
    assert snapshot_count(server) == 1
    assert phone.api("balance")["balance"] == "1005.00"  # the pages show the rewritten history
    shown = phone.api(f"events/{remembered['no']}/digest")["digest"]
    assert shown != remembered["digest"]
    # What the operator cannot recompute are Bo's signatures: their `seen` digests are gone from the chain.
    rewritten_report = pot(server.db, "verify", "--json", today=None)
    assert rewritten_report.code == 1, rewritten_report.out
    assert rewritten_report.json()["why"] == "signature"
    assert {i["no"] for i in signed} <= set(rewritten_report.json()["bad_signatures"])

    # Bo's phone, which saw the old head, warns on the next page, and nothing closes the warning.
    phone.go("proposals")
    alert = phone.page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(f"differs from what this device saw at event {remembered['no']}")
    expect(alert).to_contain_text(remembered["digest"][:16])
    expect(alert).to_contain_text(shown[:16])
    expect(alert.get_by_role("button")).to_have_count(0)
    fits_and_passes_axe(phone)

    # Put back (the original rows, the snapshot and the views redone), the history agrees again and verifies:
    # the phone still warns, on every page.
    operator_writes(server, {no: original[no] for no in forged})
    assert verify(server)["ok"] is True
    assert phone.api(f"events/{remembered['no']}/digest")["digest"] == remembered["digest"]
    for path in ("", "keys", "history"):
        phone.go(path)
        expect(phone.page.locator("#witness")).to_be_visible()
        expect(phone.page.locator("#witness")).to_contain_text(f"at event {remembered['no']}")
    # The laptop saw only the history as it is now: no warning there.
    laptop.go("")
    newest = json.dumps(laptop.api("session")["head"], separators=(",", ":"))
    # The check is done (and passed) once the laptop remembers the newest head: it moves on only then.
    laptop.page.wait_for_function(
        "([key, head]) => localStorage.getItem(key) === head", arg=[f"commonpot:{server.slug}:head", newest]
    )
    expect(laptop.page.locator("#witness")).to_be_hidden()

    assert not errors([phone, laptop]), errors([phone, laptop])


def test_a_browser_without_ed25519_says_it_sends_unsigned(browser: Browser, sqlite_server: Server) -> None:
    server = sqlite_server
    # As in a browser whose WebCrypto has no Ed25519 (set before any page script runs; CSP does not govern it).
    no_ed25519 = (
        "crypto.subtle.generateKey = () => Promise.reject(new DOMException('Ed25519 is not supported', "
        "'NotSupportedError'));"
    )
    old = open_device(browser, server, "Dee", init_script=no_ed25519)
    accept_invite(old)
    expect(old.page.locator("#signing-note")).to_contain_text("what you do from it is sent unsigned")
    old.go("keys")
    expect(old.page.locator("#device-key")).to_contain_text("cannot make an Ed25519 key")
    assert [k for k in old.api("keys") if k["member"] == "Dee"] == []
    assert pot(server.db, "--as", "Bo", "propose", "5", "--purpose", "stamps", today=None).code == 0
    old.go("proposals/1")
    old.page.get_by_label("agree", exact=True).check()
    old.page.get_by_role("button", name="Vote").click()
    expect(old.page.get_by_role("heading", name="Change your vote")).to_be_visible()
    vote = next(i for i in history(server) if i["type"] == "vote_cast")
    assert "signature" not in vote or vote["signature"] is None
    assert not errors([old]), errors([old])


# --------------------------------------------------------------------------- the page's canonical message
def readme_vector() -> dict[str, str]:
    text = README.read_text()
    block = text.split("<!-- test vector: read by tests/test_keys.py -->", 1)[1].split("```text", 1)[1]
    block = block.split("```", 1)[0]
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in block.strip().splitlines())}


MESSAGES: list[dict[str, Any]] = [
    {"pot": "maastricht-crew", "type": "vote_cast", "actor": "Bo", "seen": "ab" * 32, "proposal_no": 3},
    {"reason": 'a "quote", a \\ backslash, a / slash', "position": "agree", "proposal_no": 2**31 - 1},
    {"note": "line one\nline two\tand a tab, \x01 \x1f \x7f \u2028 \u2029", "event_no": 1},
    {"purpose": "Thé, café, 茶, 🚲 and \U0001f9c9", "recipient": "Zoë", "Zed": "", "zed": "", "_": "", "é": ""},
    {"amount": "1234567890.05", "closes": "2026-12-31", "member": "Ana-Lou", "ref": "B-1 /2026"},
]


def test_the_pages_canonical_json_is_pythons_and_signs_the_readmes_test_vector(
    browser: Browser, sqlite_server: Server
) -> None:
    server = sqlite_server
    device = open_device(browser, server, "Cy")
    accept_invite(device)
    page = device.page
    by_page = page.evaluate("objs => objs.map(o => window.commonpotCanonical(o))", MESSAGES)
    assert by_page == [signing.canonical(m).decode("utf-8") for m in MESSAGES]

    # The README's vector: its seed as PKCS#8 (a fixed 16-byte prefix), the page's message, WebCrypto's signature.
    vector = readme_vector()
    fields = json.loads(vector["message"])
    signed = page.evaluate(
        """async ([seedHex, fields]) => {
            const seed = seedHex.match(/../g).map(h => parseInt(h, 16));
            const prefix = [0x30,0x2e,0x02,0x01,0x00,0x30,0x05,0x06,0x03,0x2b,0x65,0x70,0x04,0x22,0x04,0x20];
            const key = await crypto.subtle.importKey(
                "pkcs8", new Uint8Array([...prefix, ...seed]), {name: "Ed25519"}, false, ["sign"]);
            const text = window.commonpotCanonical(fields);
            const bytes = new TextEncoder().encode(text);
            const sig = new Uint8Array(await crypto.subtle.sign({name: "Ed25519"}, key, bytes));
            const b64 = btoa(String.fromCharCode(...sig));
            return [text, b64.replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "")];
        }""",
        [vector["seed"], fields],
    )
    assert signed == [vector["message"], vector["sig"]]

    # Amounts as the pot records them: the currency's digits, or nothing the server would take.
    cases = [("25", 2), ("25.5", 2), ("007.10", 2), (" 3 ", 2), ("1.234", 2), ("1,00", 2), ("-5", 2), ("12", 0)]
    cases += [("1.5", 3), ("123456789.125", 3), ("2.", 2), (".5", 2), ("", 2), ("1e3", 2)]
    by_page = page.evaluate("cases => cases.map(([t, d]) => window.commonpotAmountText(t, d))", cases)

    def by_python(text: str, digits: int) -> str | None:
        try:
            return format_amount(parse_amount(text, digits), digits)
        except BadInput:
            return None

    assert by_page == [by_python(t, d) for t, d in cases]

    # A pledge's percent as the pot records it (domain.rules.pledge): no trailing zeros, or nothing it would take.
    percents = ["7.50", "10", "010.0", " 3 ", "0.5", "100.00", "12.345", "1e3", "7,5", "", ".5", "5.", "-1"]
    by_page = page.evaluate("cases => cases.map(t => window.commonpotPercentText(t))", percents)

    def recorded(text: str) -> str | None:
        try:
            return format(parse_percent(text).normalize(), "f")
        except BadInput:
            return None

    assert by_page == [recorded(t) for t in percents]
    assert not errors([device]), errors([device])
