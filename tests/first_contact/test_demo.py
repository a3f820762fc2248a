"""``python -m streamkit demo`` from this checkout: prints its URL, serves the page and every
pipeline, stops cleanly on Ctrl+C. (The fresh-venv quick start is in test_quickstart.py.)"""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.first_contact.demo_client import PIPELINES, first_bytes, running_demo


def test_help_lists_the_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "streamkit", "--help"], capture_output=True, text=True, timeout=30, check=True)
    assert "demo" in result.stdout and "cat" in result.stdout


def test_demo_serves_every_pipeline_and_stops_on_ctrl_c() -> None:
    with running_demo([sys.executable, "-m", "streamkit", "demo"]) as (url, demo):
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "EventSource" in page.text and "http" not in page.text.split("<script>")[1]
        for path, expected in PIPELINES.items():
            assert expected in first_bytes(url, path, expected)
    assert demo.returncode == 0, demo.output
    assert b"stopped" in demo.output
