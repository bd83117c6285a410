"""UI fixtures: one served app per session, Debian's Chromium driven by Playwright.

Browser tests skip when /usr/bin/chromium is missing, except in CI (``CI`` set),
where they fail: CI must install it (``apt-get install -y chromium``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest
from pydantic import BaseModel, Field

import remotetask
from tests.ui.server import serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START = datetime(2026, 11, 28, 9, 30, tzinfo=UTC).timestamp()
_numbers = itertools.count(1)


@dataclass
class Served:
    """The running UI and the app behind it."""

    url: str
    app: remotetask.App
    clock: remotetask.FrozenClock


def register_tasks(app: remotetask.App) -> None:
    @app.task
    def echo(input: object) -> object:
        return input

    @app.task(retry=remotetask.RetryPolicy(max_retries=0))
    def explode(input: object) -> None:
        raise ValueError(f"cannot handle {input!r}")

    @app.task
    def convert(input: object) -> str:
        return "converted"

    @app.task
    def resize(input: ResizeInput) -> None:
        return None


class ResizeInput(BaseModel):
    """A typed task's input: the add form is built from its JSON Schema."""

    file: str = Field(description="the picture to resize")
    width: int = 800
    keep_ratio: bool = False
    format: Literal["png", "jpeg"] = "png"


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    clock = remotetask.FrozenClock(START)
    app = remotetask.App(f"sqlite:///{tmp_path_factory.mktemp('ui') / 'ui.db'}", clock=clock)
    register_tasks(app)
    app.add_service("site2@Foreign")
    with serve(app) as url:
        yield Served(url, app, clock)
    app.close()


@pytest.fixture
def svc(served: Served) -> remotetask.TaskService:
    """A fresh service in site1 for one test (the session's app is shared)."""
    return served.app.add_service(f"site1@Test{next(_numbers)}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"browser tests need {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies); console errors (CSP violations too) fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        # A page answering 4xx is logged too; tests check those statuses themselves.
        # Anything else (a CSP violation, a script error, a missing static file) fails.
        url = str(message.location.get("url", ""))
        expected = message.text.startswith("Failed to load resource") and "/static/" not in url
        if message.type == "error" and not expected:
            errors.append(f"{message.text} ({url})")

    tab.on("console", console)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == []


def login(page: Page, served: Served, token: str) -> None:
    page.goto(f"{served.url}/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{served.url}/")


def jobs_url(served: Served, service: remotetask.TaskService, query: str = "") -> str:
    return f"{served.url}/services/{service.ref}/jobs" + (f"?{query}" if query else "")
