"""Accessibility in Chromium: axe-core on every page at desktop and phone sizes, light and
dark, a keyboard-only walk through the main flows, and the phone layout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

import remotetask
from tests.ui.conftest import Served, login

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def pages(served: Served) -> dict[str, str]:
    """One URL per kind of page, on a service with a bit of everything."""
    svc = served.app.add_service("site1@Access")
    done = svc.add("echo", {"file": "x" * 300})
    failed = svc.add("explode", {"file": "a.mov"})
    svc.process()
    cron = svc.add_cron_job("echo", {"nightly": True}, minute=(30,), hour=(2,))
    svc.add("echo", 1, start_later=True)
    svc.runner.schedule_pending(served.clock.now())
    base = f"/services/{svc.ref}"
    return {
        "overview": "/",
        "jobs": f"{base}/jobs",
        "job": f"{base}/jobs/{failed}",
        "job-done": f"{base}/jobs/{done}",
        "cron-job": f"{base}/jobs/{cron}",
        "errors": f"{base}/errors",
        "schedules": "/schedules",
        "cron": f"{base}/cron",
        "cron-form": f"{base}/cron/new",
        "add": f"{base}/add?task=resize",
        "add-json": f"{base}/add?task=echo",
        "edit-input": f"{base}/jobs/{failed}/input",
        "confirm": f"{base}/jobs/{failed}/confirm?do=delete",
        "bulk": f"{base}/bulk?action=remove-finished",
        "not-found": f"{base}/jobs/abc",
    }


@pytest.fixture(params=[(size, scheme) for size in SIZES for scheme in ("light", "dark")])
def sized(
    request: pytest.FixtureRequest, browser: Browser, served: Served
) -> Iterator[tuple[Page, str]]:
    size, scheme = request.param
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    login(page, served, "admin-secret")
    yield page, f"{size}/{scheme}"
    context.close()


def test_axe_finds_no_violation_on_any_page(
    sized: tuple[Page, str], served: Served, pages: dict[str, str]
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page, label = sized
    axe = Axe()
    found = {}
    for name, path in pages.items():
        page.goto(served.url + path)
        results = axe.run(page)
        if results.violations_count:
            found[name] = [v["id"] for v in results.response["violations"]]
    page.context.clear_cookies()
    page.goto(served.url + "/login")
    results = axe.run(page)
    if results.violations_count:
        found["login"] = [v["id"] for v in results.response["violations"]]
    assert found == {}, label


def test_the_phone_layout_fits_and_keeps_sorting_and_big_targets(
    browser: Browser, served: Served, pages: dict[str, str]
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        login(page, served, "admin-secret")
        for name in ("job-done", "job", "jobs", "schedules", "errors"):
            page.goto(served.url + pages[name])
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (name, width)
        page.goto(served.url + pages["jobs"])
        expect(page.get_by_label("Sort by")).to_be_visible()
        box = page.locator("td.pick input").first.bounding_box()
        assert box is not None
        assert box["width"] >= 24
        assert box["height"] >= 24
    finally:
        context.close()


def test_a_keyboard_alone_can_log_in_find_a_job_and_retry_it(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("explode", 1)
    svc.process()
    page.goto(f"{served.url}/login")
    page.keyboard.type("operate-secret")  # the token field has the focus
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served.url}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Shift+Tab")
    while page.evaluate("document.activeElement.id") != "find-id":
        page.keyboard.press("Shift+Tab")
    page.keyboard.type(str(job_id))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Job {job_id}")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "do-retry":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(f"Job {job_id} is queued again.")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "traceback":
            pytest.fail("a queued job shows no traceback")
        if page.evaluate("document.activeElement.id") == "input":
            break
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus ring shows on the scrollable block


def test_static_files_are_cached_by_their_hash(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/login")
    css = page.locator("link[rel=stylesheet]").get_attribute("href")
    assert css is not None
    assert "?v=" in css
    response = page.request.get(served.url.removesuffix("/ui") + css)
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
