"""Screenshots of the main pages, on a clean app with realistic data.

They go to ``$REMOTETASK_UI_SCREENSHOTS`` when set (the docs use
``docs/screenshots``), else to a temporary folder, so a plain test run never
changes tracked files.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, expect

import remotetask
from tests.ui.conftest import START, Served, login, register_tasks
from tests.ui.server import serve


def _fill(app: remotetask.App, clock: remotetask.FrozenClock) -> remotetask.TaskService:
    converter = app.add_service("site1@Converter")
    reports = app.add_service("site2@Reports")
    app.add_service("@Mailer")
    for minute in range(60):  # an hour of throughput for the charts
        clock.set(START - 3600 + minute * 60 + 7)
        converter.add_many(
            "convert", [{"file": f"clip-{minute}-{n}.mov"} for n in range(minute % 7)]
        )
        reports.add_many("echo", [{"report": minute}] * (minute // 12))
        converter.process()
        reports.process()
    clock.set(START)
    converter.add_many("explode", [{"file": f"broken-{n}.mov"} for n in range(4)])
    converter.add("explode", 42)
    converter.process()
    converter.add_many("convert", [{"file": f"queued-{n}.mov"} for n in range(3)])
    converter.add_cron_job("echo", {"report": "nightly"}, minute=(30,), hour=(2,))
    converter.add_cron_job(
        "convert", {"file": "digest"}, cron="0 9 * * 1-5", timezone="Europe/Berlin"
    )
    converter.runner.schedule_pending(START)
    return converter


def test_screenshots_of_the_main_pages(browser: Browser, tmp_path: Path) -> None:
    folder = Path(os.environ.get("REMOTETASK_UI_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    clock = remotetask.FrozenClock(START)
    app = remotetask.App("sqlite://", clock=clock)
    register_tasks(app)
    converter = _fill(app, clock)
    failed = next(job for job in converter.list_jobs() if job.status == remotetask.ERROR)
    with serve(app, refresh_seconds=60) as url:
        served = Served(url, app, clock)
        base = f"{url}/services/{converter.ref}"
        for name, width, height, path in (
            ("overview", 1280, 860, "/"),
            ("jobs", 1280, 860, f"{base}/jobs?size=10"),
            ("job", 1280, 1000, f"{base}/jobs/{failed.id}"),
            ("cron", 1280, 560, f"{base}/cron"),
            ("errors", 1280, 700, f"{base}/errors"),
            ("schedules", 1280, 600, "/schedules"),
            ("jobs-phone", 390, 844, f"{base}/jobs?size=10"),
        ):
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            login(page, served, "admin-secret")
            page.goto(path if path.startswith("http") else url + path)
            expect(page.locator("main")).to_be_visible()
            page.screenshot(path=folder / f"{name}.png", full_page=name != "jobs-phone")
            context.close()
    app.close()
    for name in ("overview", "jobs", "job", "cron", "errors", "schedules", "jobs-phone"):
        assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
