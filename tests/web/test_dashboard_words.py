"""The dashboard of `cleanroom sim` (the reference purifier: six discrete settings) read at a glance in
headless Chromium at 360x740 and 1280x900: the fan as "setting N of 6", the speed control saying which
setting a speed selects and what the fan does now, the plan event in words, the token prompt naming the
command for this process, and nothing reaching past the screen's edge. Screenshots after the data arrived."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from tests.web.test_web_dashboard import browser, fits_and_shot, output_dir, simulator

__all__ = ["browser", "simulator"]

pytestmark = pytest.mark.slow

VIEWPORTS: list[ViewportSize] = [{"width": 360, "height": 740}, {"width": 1280, "height": 900}]


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_a_discrete_fan_and_its_plan_in_words(
    browser: Browser, simulator: tuple[str, Path], tmp_path: Path, viewport: ViewportSize
) -> None:
    url, state_dir = simulator
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(f"{url}/")
    expect(page.get_by_test_id("fan")).to_have_text(re.compile(r"^setting [1-6] of 6$"), timeout=30_000)
    expect(page.get_by_test_id("speed-now")).to_have_text(
        re.compile(r"^the fan now: setting [1-6] of 6 \(\d+(\.\d)? %, auto\)$")
    )
    expect(page.get_by_test_id("speed-out")).to_have_text(re.compile(r"^\d+(\.\d)? % → setting [1-6] of 6$"))
    expect(page.locator("#events li").filter(has_text="plan:").first).to_have_text(
        re.compile(r"plan: setting [1-6] for \d+ % of the time(, setting [1-6] for \d+ %)?, \d+ CFM average")
    )
    page.locator("#speed-input").fill("0")
    expect(page.get_by_test_id("speed-out")).to_have_text("0 % → setting 1 of 6")  # raised to the lowest
    page.locator("#speed-input").fill("100")
    expect(page.get_by_test_id("speed-out")).to_have_text("100 % → setting 6 of 6")
    page.get_by_role("button", name="Set speed").click()
    expect(page.get_by_test_id("command-status")).to_contain_text(f"token --state-dir {state_dir}")
    fits_and_shot(page, viewport, output_dir(tmp_path) / f"dashboard-sim-{viewport['width']}.png")
    context.close()
