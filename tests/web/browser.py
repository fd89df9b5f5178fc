"""The app served over HTTP on a loopback port (uvicorn in a thread) and Debian's headless
Chromium driven by Playwright; screenshots go to ``test-artifacts/web/`` (git ignores it)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page

from tests.support.servers import free_port, wait_for

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1280, "height": 900}


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on ``http://127.0.0.1:<free port>`` until the block ends."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, "uvicorn")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


class Screens:
    """Numbered screenshots of one test, full page, kept as artifacts."""

    def __init__(self, test_name: str) -> None:
        self.folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def shot(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def new_page(browser: Browser, base_url: str, viewport: dict[str, int] = DESKTOP) -> Page:
    context = browser.new_context(
        base_url=base_url,
        viewport=viewport,  # type: ignore[arg-type]
        locale="lt-LT",
        timezone_id="Europe/Vilnius",
        accept_downloads=True,
    )
    context.set_default_timeout(20_000)
    return context.new_page()
