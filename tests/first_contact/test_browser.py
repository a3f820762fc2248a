"""The demo page in headless Chromium: every pipeline's card shows events. A screenshot is
saved to test-artifacts/demo.png."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.browser.test_eventsource import ARTIFACTS, CHROMIUM_ARGS, chromium
from tests.first_contact.demo_client import running_demo


def test_demo_page_renders_every_pipeline(tmp_path: Path) -> None:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with running_demo([sys.executable, "-m", "streamkit", "demo"]) as (url, demo), sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function(
                "Object.values(window.received).every((n) => n >= 2) && window.received.sensor >= 2", timeout=20_000
            )
            received = page.evaluate("window.received")
            answer = page.inner_text("#llm .answer")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "demo.png"), full_page=True)
        finally:
            browser.close()
    assert set(received) == {"llm", "sensor", "log", "heartbeat"} and min(received.values()) >= 2, received
    assert answer.strip(), "no LLM tokens rendered"
    assert demo.returncode == 0
