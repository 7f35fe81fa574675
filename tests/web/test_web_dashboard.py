"""The dashboard in real headless Chromium at a phone viewport (360x740): live values (from `cleanroom sim`
and from a stand-in loop that raises an alert), a mode change through the page, no request leaving the
machine, no sideways scrolling. Screenshots go to $CLEANROOM_TEST_OUTPUT (default: the test's tmp_path):
dashboard-sim.png and dashboard.png."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from controller.snapshot import Mode
from tests.web.web_rig import Served, serve_in_thread, simulator_serving, with_alert
from web.config import HttpSection, ReadAccess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 360, "height": 740}

pytestmark = pytest.mark.slow


def output_dir(tmp_path: Path) -> Path:
    chosen = Path(os.environ.get("CLEANROOM_TEST_OUTPUT", str(tmp_path)))
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve_in_thread(str(tmp_path / "state"), interval_s=0.2) as server:
        yield server


def open_phone(browser: Browser, url: str, problems: list[str] | None = None) -> tuple[Page, list[str]]:
    """A phone-sized page at `url`; records every requested URL, and script errors and console errors
    (Content-Security-Policy violations among them) into `problems`."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    if problems is not None:
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(url)
    return page, requested


def test_live_values_and_a_mode_change_on_a_phone(browser: Browser, served: Served, tmp_path: Path) -> None:
    with_alert(served.loop)
    problems: list[str] = []
    page, requested = open_phone(browser, f"{served.url}/", problems)
    soc = page.get_by_test_id("soc")
    expect(soc).to_have_text(re.compile(r"^\d+\.\d %"))
    expect(page.get_by_test_id("mode")).to_have_text("auto")
    expect(page.get_by_test_id("runtime-plan")).to_have_text(re.compile(r"^\d+ d \d+ h$"))
    expect(page.get_by_test_id("pressure")).to_have_text(re.compile(r"^\d+\.\d Pa$"))
    expect(page.get_by_test_id("flow")).to_have_text(re.compile(r"^\d+ CFM$"))
    expect(page.locator("#alerts")).to_contain_text("below the 5 Pa floor")
    expect(page.locator("#runtime-plan-until")).to_contain_text("until")
    expect(page.locator("#token-form")).to_be_hidden()

    # Live: the page follows the loop without reloading.
    first_update = page.locator("#updated").inner_text()
    expect(page.locator("#updated")).not_to_have_text(first_update)
    expect(page.locator("#chart path.ln")).to_have_count(1, timeout=15_000)  # history is polled until 2 points

    # A mode change through the page: it asks for the token once, then the loop applies the command.
    page.get_by_role("button", name="eco", exact=True).click()
    expect(page.locator("#token-form")).to_be_visible()
    page.locator("#token-input").fill(served.token)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("command-status")).to_contain_text("mode eco: done")
    expect(page.get_by_test_id("mode")).to_have_text("eco")
    assert served.loop.mode is Mode.ECO
    assert page.evaluate("localStorage.getItem('cleanroom-token')") == served.token

    page.get_by_role("button", name="manual", exact=True).click()  # the token is remembered: no second prompt
    expect(page.get_by_test_id("mode")).to_have_text("manual")
    expect(page.locator("#token-form")).to_be_hidden()

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert all(url.startswith(served.url) for url in requested), requested
    assert served.token not in page.content()
    assert problems == []
    screenshot = output_dir(tmp_path) / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    page.context.close()


def test_a_wrong_token_is_asked_for_again(browser: Browser, served: Served) -> None:
    page, _ = open_phone(browser, f"{served.url}/")
    expect(page.get_by_test_id("mode")).to_have_text("auto")
    page.get_by_role("button", name="runtime", exact=True).click()
    page.locator("#token-input").fill("not-the-token-at-all-000000")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#token-form")).to_be_visible()
    assert served.loop.mode is Mode.AUTO
    page.locator("#token-input").fill(served.token)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("mode")).to_have_text("runtime")
    page.context.close()


def test_deadline_through_the_page(browser: Browser, served: Served) -> None:
    page, _ = open_phone(browser, f"{served.url}/")
    page.evaluate(f"localStorage.setItem('cleanroom-token', {served.token!r})")
    page.reload()
    page.locator("#deadline-input").fill("3 days")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_test_id("command-status")).to_contain_text("deadline: done")
    expect(page.locator("#deadline")).not_to_have_text("none")
    page.locator("#deadline-input").fill("next week")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_test_id("command-status")).to_contain_text("expected an ISO 8601 time")
    page.context.close()


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`cleanroom sim --http 127.0.0.1:0 --speed 60` as a subprocess; yields its URL (from its log) and state dir."""
    with simulator_serving(tmp_path / "sim-state", "--speed", "60", "--id", "sim-room") as served:
        yield served


def test_live_values_from_the_simulator_and_a_mode_change(
    browser: Browser, simulator: tuple[str, Path], tmp_path: Path
) -> None:
    url, state_dir = simulator
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "cleanroom"), "token", "--state-dir", str(state_dir), "--quiet"],
        capture_output=True,
        text=True,
        check=True,
    )
    token = shown.stdout.strip()
    page, requested = open_phone(browser, f"{url}/")
    expect(page.locator("#title")).to_have_text("sim-room")
    expect(page.get_by_test_id("soc")).to_have_text(re.compile(r"^\d+\.\d %"))
    expect(page.get_by_test_id("flow")).to_have_text(re.compile(r"^\d+ CFM$"))
    expect(page.get_by_test_id("runtime-plan")).to_have_text(re.compile(r"^\d+ d \d+ h$"))
    expect(page.get_by_test_id("room")).to_contain_text(re.compile(r"room leaks \d+\.\d CFM( ± \d+ %)? at 1 Pa"))
    expect(page.get_by_test_id("energy")).to_contain_text(
        re.compile(r"^\d[\d,.]* ± \d+ Wh in the battery · \d+\.\d Ah configured · synced at full ")
    )
    first = page.locator("#updated").inner_text()
    expect(page.locator("#updated")).not_to_have_text(first)  # simulated time moves on without a reload

    page.get_by_role("button", name="eco", exact=True).click()
    page.locator("#token-input").fill(token)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("command-status")).to_contain_text("mode eco: done")
    expect(page.get_by_test_id("mode")).to_have_text("eco")
    with httpx.Client(base_url=url) as client:
        assert client.get("/api/state").json()["mode"] == "eco"
        assert client.get("/api/history").json()["source"] == "database"  # the simulator's SQLite history
    assert all(u.startswith(url) for u in requested), requested
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot = output_dir(tmp_path) / "dashboard-sim.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    page.context.close()


def test_token_only_read_access_asks_first_then_goes_live(browser: Browser, tmp_path: Path) -> None:
    section = HttpSection(read_access=ReadAccess.TOKEN, push_interval_s=0.1)
    with serve_in_thread(str(tmp_path / "state"), section=section, interval_s=0.2) as served:
        page, _ = open_phone(browser, f"{served.url}/")
        expect(page.locator("#token-form")).to_be_visible()
        expect(page.get_by_test_id("soc")).to_have_text("–")
        page.locator("#token-input").fill(served.token)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_test_id("soc")).to_have_text(re.compile(r"^\d+\.\d %"))
        first = page.locator("#updated").inner_text()
        expect(page.locator("#updated")).not_to_have_text(first)
        page.context.close()


def test_controls_follow_the_settings_registry(browser: Browser, served: Served) -> None:
    """The mode buttons, the speed slider and the floor box take their options, ranges and units from
    /api/meta (the settings registry), not from literals in the page."""
    settings = {s["name"]: s for s in httpx.get(f"{served.url}/api/meta").json()["settings"]}
    page, _ = open_phone(browser, f"{served.url}/")
    expect(page.locator("#modes button")).to_have_count(len(settings["mode"]["options"]))
    for control, name in (("#speed-input", "speed"), ("#floor-input", "pressure_floor")):
        for bound in ("min", "max", "step"):
            expect(page.locator(control)).to_have_attribute(bound, f"{settings[name][bound]:g}")
    expect(page.locator("#floor-unit")).to_have_text(settings["pressure_floor"]["symbol"])
    expect(page.locator("#floor-input")).to_have_attribute("title", settings["pressure_floor"]["expected"])
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["phone", "desktop"])
def test_reads_at_a_glance(browser: Browser, served: Served, tmp_path: Path, viewport: ViewportSize) -> None:
    """Pressure and battery in words, thousands separators, units on the chart's axis, and nothing wider
    than the screen; the screenshot is taken once the data is there."""
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(f"{served.url}/")
    words = page.get_by_test_id("pressure-words")
    expect(words).to_have_text(re.compile(r"^positive pressure: \d+\.\d Pa \(floor 5\.0 Pa\)$"))
    expect(page.get_by_test_id("battery-flow")).to_have_text(re.compile(r"^discharging \d+\.\d W · \d+\.\d\d V$"))
    expect(page.locator("#clean-air")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})+ ft³ clean air so far$"))
    expect(page.locator("#chart text").first).to_have_text(
        re.compile(r" %$"), timeout=30_000
    )  # history reloads every 5 s
    fits_and_shot(page, viewport, output_dir(tmp_path) / f"dashboard-{viewport['width']}.png")
    context.close()


def fits_and_shot(page: Page, viewport: ViewportSize, screenshot: Path) -> None:
    """Nothing on the page reaches past the screen's edge; then the full page is written to `screenshot`."""
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 0.5)
            .map((e) => e.id || e.tagName)"""
    )
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
