"""`pot report`: one self-contained HTML file, checked as text and, rendered, in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import pot

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

SCRIPT_NAME = "<script>alert(1)</script>"
DEMO = ("--pot", "demo-crew")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo crew, plus a member named like a script who contributed and proposed, all with markup in the text."""
    db = tmp_path_factory.mktemp("report") / "demo.sqlite"
    assert pot(db, "demo").code == 0
    steps = [
        ("--as", "Ana", "member", "add", SCRIPT_NAME),
        ("--as", "Ana", "contribute", SCRIPT_NAME, "10", "--note", "<b>bold</b> & <img src=x onerror=alert(2)>"),
        ("--as", SCRIPT_NAME, "propose", "5", "--purpose", "<u>snacks</u>"),
        ("--as", "Bo", "vote", "4", "agree", "--reason", "<i>why not</i>"),
    ]
    for step in steps:
        result = pot(db, *DEMO, *step)
        assert result.code == 0, result.err
    return db


@pytest.fixture(scope="module")
def demo_report(demo_store: Path) -> Path:
    out = demo_store.parent / "pot.html"
    result = pot(demo_store, *DEMO, "report", "-o", str(out))
    assert result.code == 0, result.err
    return out


# --------------------------------------------------------------------------- the file as text
def test_report_says_where_it_wrote_and_which_head(demo_store: Path, demo_report: Path) -> None:
    result = pot(demo_store, *DEMO, "report", "-o", str(demo_report))
    head = pot(demo_store, *DEMO, "verify", "--json").json()["head"]
    assert result.out.startswith(f"wrote {demo_report}: Demo crew as of 2026-03-01")
    assert head[:16] in result.out


def test_report_json_describes_the_written_file(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    data = pot(demo_store, *DEMO, "report", "-o", str(out), "--json").json()
    verify = pot(demo_store, *DEMO, "verify", "--json").json()
    assert data == {
        "pot": "demo-crew",
        "file": str(out),
        "as_of": "2026-03-01",
        "events": verify["events"],
        "head": verify["head"],
    }
    assert out.exists()


def test_report_is_self_contained_and_runs_no_script(demo_report: Path) -> None:
    html = demo_report.read_text("utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"<link|<img|<iframe|<object|@import|@font-face", html, re.I)
    assert not re.search(r"""\s(src|href)\s*=\s*["'](?!#)""", html, re.I)
    # url(...) only to point at the SVG's own clip paths.
    assert not re.search(r"url\((?!#)", html, re.I)
    # The only addresses left are XML namespace names, which no browser fetches.
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, addresses
    assert '<meta name="viewport"' in html
    assert "@media print" in html


def test_every_user_supplied_string_is_escaped(demo_report: Path) -> None:
    html = demo_report.read_text("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;i&gt;why not&lt;/i&gt;" in html
    assert "&lt;u&gt;snacks&lt;/u&gt;" in html
    assert "<b>bold</b>" not in html
    assert "<i>why not</i>" not in html


def test_report_shows_the_head_digest_and_how_to_check_it(demo_store: Path, demo_report: Path) -> None:
    html = demo_report.read_text("utf-8")
    head = pot(demo_store, *DEMO, "verify", "--json").json()["head"]
    assert head in html
    assert f"pot --pot demo-crew verify --digest {head[:16]}" in html
    assert pot(demo_store, *DEMO, "verify", "--digest", head[:16]).code == 0


def test_the_same_store_gives_the_same_report(demo_store: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    assert pot(demo_store, *DEMO, "report", "-o", str(first)).code == 0
    assert pot(demo_store, *DEMO, "report", "-o", str(second)).code == 0
    assert first.read_bytes() == second.read_bytes()


def test_report_as_of_a_past_day_shows_that_day(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "past.html"
    day = "2025-07-12"
    assert pot(demo_store, *DEMO, "report", "-o", str(out), "--as-of", day).code == 0
    html = out.read_text("utf-8")
    then = pot(demo_store, *DEMO, "balance", "--as-of", day, "--json").json()
    assert f'<dd id="balance">{then["balance"]} EUR</dd>' in html
    # Proposal 1 was still open then, with three of its four votes cast; later proposals did not exist yet.
    proposal = re.search(r'id="proposal-1".*?</article>', html, re.S)
    assert proposal is not None
    assert "status-open" in proposal.group(0)
    assert proposal.group(0).count("<tr><td") == 3
    assert 'id="proposal-2"' not in html
    # Later events and reflections noted since are not in it.
    assert "reflection_noted" not in html
    assert SCRIPT_NAME.replace("<", "&lt;").replace(">", "&gt;") not in html


def test_report_of_a_new_pot_says_there_is_nothing_yet(crew: Path, tmp_path: Path) -> None:
    out = tmp_path / "new.html"
    assert pot(crew, "report", "-o", str(out)).code == 0
    html = out.read_text("utf-8")
    assert '<dd id="balance">0.00 EUR</dd>' in html
    assert "no contributions yet" in html
    assert "No proposals yet." in html


def test_report_needs_an_output_file(crew: Path) -> None:
    result = pot(crew, "report")
    assert result.code == 2
    assert result.err.startswith("error: ")


def test_report_into_a_missing_folder_is_one_error_line(crew: Path, tmp_path: Path) -> None:
    result = pot(crew, "report", "-o", str(tmp_path / "no" / "such" / "r.html"))
    assert result.code == 2
    assert result.err.startswith("error: cannot write")
    assert len(result.err.strip().splitlines()) == 1


# Names matplotlib would read as mathtext (TeX between dollar signs): each must be drawn as typed.
MATH_NAMES = ("x$^$y", r"$\frac{1}{2}$", "$x_1$ and $y^2$", r"a\$b$", "$$")


def test_a_name_like_tex_shows_literally_in_every_chart(crew: Path, tmp_path: Path) -> None:
    for name in MATH_NAMES:
        assert pot(crew, "--as", "Ana", "member", "add", name).code == 0
        assert pot(crew, "--as", "Ana", "contribute", name, "2").code == 0
    out = tmp_path / "tex.html"
    result = pot(crew, "report", "-o", str(out))
    assert result.code == 0, result.err
    html = out.read_text("utf-8")
    charts = re.findall(r"<svg.*?</svg>", html, re.S)
    # Each chart twice: for a wide screen and for a phone.
    assert len(charts) == 6
    for shares, trust in ((charts[2], charts[4]), (charts[3], charts[5])):
        for name in MATH_NAMES:
            # Each name is one text element of its own, in the shares chart and (points for contributing) the trust
            # chart.
            assert f">{name}</text>" in shares, name
            assert f">{name}</text>" in trust, name
    for name in MATH_NAMES:
        assert f'<td class="member-name" data-label="Name">{name}</td>' in html, name


def test_starting_the_cli_does_not_import_the_report_libraries() -> None:
    code = "import sys, cli; print(sorted(m for m in ('matplotlib', 'jinja2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- the page as Chromium renders it
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package")
    if missing:
        why = f"headless Chromium test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1200,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(browser: Chrome, demo_report: Path) -> Chrome:
    browser.get(demo_report.as_uri())
    return browser


def test_rendered_page_shows_the_balance(page: Chrome, demo_store: Path) -> None:
    figures = pot(demo_store, *DEMO, "balance", "--json").json()
    assert page.find_element("id", "balance").text == f"{figures['balance']} EUR"
    assert page.find_element("id", "available").text == f"{figures['available']} EUR"


def test_rendered_page_has_one_row_per_member(page: Chrome, demo_store: Path) -> None:
    members = pot(demo_store, *DEMO, "members", "--json").json()
    names = [cell.text for cell in page.find_elements("css selector", "#members tbody tr .member-name")]
    assert names == [m["name"] for m in members]


def test_rendered_charts_are_present_and_not_empty(page: Chrome, demo_store: Path) -> None:
    names = {m["name"] for m in pot(demo_store, *DEMO, "members", "--json").json()}
    for chart in ("balance", "shares", "trust"):
        svg = page.find_element("css selector", f"#chart-{chart} svg.chart")
        assert svg.size["width"] > 300, chart
        assert svg.size["height"] > 100, chart
        shapes = page.execute_script("return arguments[0].querySelectorAll('path, use').length", svg)
        assert shapes > 10, chart
        labels = page.execute_script("return [...arguments[0].querySelectorAll('text')].map(t => t.textContent)", svg)
        assert len(labels) > 3, chart
        if chart != "balance":
            # Bars are labelled with member names, as text (the script-named one too).
            assert names <= set(labels), (chart, labels)


def test_rendered_page_has_no_console_errors(page: Chrome) -> None:
    # Selenium leaves get_log unannotated.
    errors = [entry for entry in page.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]  # type: ignore[no-untyped-call]
    assert errors == []


def test_a_member_named_like_a_script_shows_as_text(page: Chrome) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    names = [cell.text for cell in page.find_elements("css selector", "#members .member-name")]
    assert SCRIPT_NAME in names
    assert page.execute_script("return document.scripts.length") == 0
    with pytest.raises(NoAlertPresentException):
        _ = page.switch_to.alert.text
    history = page.find_element("id", "history").text
    assert "<img src=x onerror=alert(2)>" in history


def test_rendered_page_fits_a_phone_width(page: Chrome) -> None:
    # A desktop window has a minimum width; emulate a phone's viewport instead.
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
    )
    try:
        page.refresh()
        width = page.execute_script("return document.documentElement.clientWidth")
        assert width <= 390
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        assert page.execute_script("return document.documentElement.scrollWidth") <= width
        ARTIFACTS.mkdir(exist_ok=True)
        _full_screenshot(page, ARTIFACTS / "report-phone.png")
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        page.refresh()
    _full_screenshot(page, ARTIFACTS / "report.png")
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def _full_screenshot(driver: Chrome, path: Path) -> None:
    """The whole page, not only the window: Chromium captures beyond the viewport through the devtools protocol."""
    import base64

    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def test_the_binaries_the_browser_test_needs_are_where_it_looks() -> None:
    """Guards the paths above: .ci/run installs chromium where the test looks for it."""
    if shutil.which("chromium") is None and os.environ.get("CI") != "true":
        pytest.skip("chromium is not installed here")
    assert CHROMIUM.exists()
    assert CHROMEDRIVER.exists()


def test_report_without_as_of_counts_only_events_up_to_today(demo_store: Path, tmp_path: Path) -> None:
    day = "2025-07-12"
    implied, explicit = tmp_path / "implied.html", tmp_path / "explicit.html"
    assert pot(demo_store, *DEMO, "report", "-o", str(implied), today=day).code == 0
    assert pot(demo_store, *DEMO, "report", "-o", str(explicit), "--as-of", day, today=day).code == 0
    assert implied.read_bytes() == explicit.read_bytes()
    then = pot(demo_store, *DEMO, "balance", "--as-of", day, "--json").json()
    html = implied.read_text("utf-8")
    assert f'<dd id="balance">{then["balance"]} EUR</dd>' in html
    counted = len(pot(demo_store, *DEMO, "history", "--until", day, "--json").json())
    assert f"({counted} events dated on or before that day)" in html


# --------------------------------------------------------------------------- the report on a phone (issue 18)
@pytest.mark.parametrize("width", [390, 1280])
def test_at_phone_and_desktop_width_nothing_scrolls_sideways_and_chart_text_is_readable(
    page: Chrome, width: int
) -> None:
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    try:
        page.refresh()
        assert page.execute_script("return window.innerWidth") == width
        # clientWidth: the viewport less a desktop's vertical scrollbar.
        client = page.execute_script("return document.documentElement.clientWidth")
        assert page.execute_script("return document.documentElement.scrollWidth") <= client
        # No table scrolls inside its own box either: on a phone they stack, row by row.
        overflowing = page.execute_script(
            "return [...document.querySelectorAll('.scroll, table')]"
            ".filter(e => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.id || e.className)"
        )
        assert overflowing == []
        # Every chart is shown once, and every text in it is at least 11 CSS px as drawn
        # (its font size scaled by the SVG's fit to the page; rotated labels too).
        shown = page.execute_script(
            "return [...document.querySelectorAll('svg.chart')].filter(s => s.getClientRects().length).length"
        )
        assert shown == 3
        sizes: list[list[Any]] = page.execute_script(
            "return [...document.querySelectorAll('svg.chart text')].filter(t => t.getClientRects().length)"
            ".map(t => { const m = t.getScreenCTM();"
            " return [t.textContent, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b)]; })"
        )
        assert len(sizes) > 20
        small = [(text, round(px, 1)) for text, px in sizes if px < 11]
        assert small == []
        ARTIFACTS.mkdir(exist_ok=True)
        _full_screenshot(page, ARTIFACTS / f"report-{width}.png")
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        page.refresh()


def test_the_report_shows_pledges_feelings_and_who_has_not_voted(page: Chrome, demo_store: Path) -> None:
    pledges = pot(demo_store, *DEMO, "pledges", "--json").json()["members"]
    rows = page.find_elements("css selector", "#pledges tbody tr")
    assert [r.find_element("css selector", ".pledge-name").text for r in rows] == [m["name"] for m in pledges]
    fulfilment = [r.find_element("css selector", ".fulfilment").text for r in rows]
    assert fulfilment == ["–" if m["fulfilment_pct"] is None else f"{m['fulfilment_pct']} %" for m in pledges]
    triggers = pot(demo_store, *DEMO, "triggers", "--json").json()
    feelings = page.find_element("id", "feelings").text
    for feeling, count in triggers["by_feeling"].items():
        assert f"{feeling} {count}" in feelings
    assert "vote 2" in page.find_element("id", "feelings-about").text
    # Proposal 4 (the script-named member's) is open: Bo voted; the others still here have not.
    detail = pot(demo_store, *DEMO, "proposal", "4", "--json").json()
    assert detail["status"] == "open"
    members = [m["name"] for m in pot(demo_store, *DEMO, "members", "--json").json() if m["left"] is None]
    waiting = [m for m in members if m != "Bo"]
    assert page.find_element("id", "waiting-4").text == f"Not voted yet: {', '.join(waiting)}."
    # A decided proposal says when it was decided, not a closing day.
    first = page.find_element("id", "proposal-1").text
    assert "decided 20" in first
    assert "voting closes" not in first
