"""The UI in a real browser: login, live table, sorting, paging, actions, cron, safety."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import remotetask
from remotetask.jobs import CANCELLED, COMPLETED, CRONJOB, QUEUED
from tests.ui.conftest import Served, jobs_url, login


def test_login_shows_the_overview_with_start_and_stop(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    page.goto(f"{served.url}/")
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    login(page, served, "admin-secret")
    expect(page.get_by_role("status")).to_have_text("Logged in as alice (admin).")
    card = page.locator("section.service", has=page.get_by_role("link", name=str(svc.ref)))
    expect(card.get_by_text("not processing")).to_be_visible()
    card.get_by_role("button", name="Start").click()
    expect(card.locator(".state.on")).to_have_text("processing")
    assert svc.is_processing()
    card.get_by_role("link", name="Stop…").click()
    expect(page.get_by_role("heading", name=f"Stop processing {svc.ref}?")).to_be_visible()
    assert svc.is_processing()  # the confirmation page changed nothing
    page.get_by_role("button", name="Stop processing").click()
    expect(card.get_by_text("not processing")).to_be_visible()
    svc.stop_processing(wait=True)
    assert not svc.is_processing()


def test_new_jobs_appear_without_a_reload(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    login(page, served, "read-secret")
    page.goto(jobs_url(served, svc))
    expect(page.get_by_text("No jobs here.")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    ids = [svc.add("echo", n) for n in range(3)]
    for job_id in ids:
        expect(page.locator(f"#job-{job_id}")).to_be_visible(timeout=10_000)
    svc.process()
    expect(page.locator(f"#job-{ids[0]} .status")).to_have_text("completed", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True


def _ids_shown(page: Page) -> list[int]:
    return [
        int(text) for text in page.locator("table.jobs tbody tr td:nth-child(2)").all_inner_texts()
    ]


def test_sort_filter_and_page(page: Page, served: Served, svc: remotetask.TaskService) -> None:
    ids = [svc.add("echo", n) for n in range(22)] + [svc.add("explode", n) for n in range(3)]
    svc.process()
    login(page, served, "operate-secret")
    page.goto(jobs_url(served, svc))
    page.get_by_label("Per page").fill("10")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.jobs tbody tr")).to_have_count(10)
    newest = sorted(ids, reverse=True)
    assert _ids_shown(page) == newest[:10]

    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"after="))
    assert _ids_shown(page) == newest[10:20]
    page.get_by_role("link", name="Next →").click()
    assert _ids_shown(page) == newest[20:]
    expect(page.get_by_text("Next →")).not_to_have_attribute("href", re.compile("."))
    page.get_by_role("link", name="← Previous").click()
    assert _ids_shown(page) == newest[10:20]

    page.get_by_role("link", name="ID ▼").click()
    expect(page.get_by_role("link", name="ID ▲")).to_be_visible()
    assert _ids_shown(page) == sorted(ids)[:10]

    page.locator("#counts").get_by_role("link", name="error 3").click()
    expect(page).to_have_url(re.compile(r"status=error"))
    assert _ids_shown(page) == ids[22:]  # the chips keep the order (and every other filter)
    page.get_by_label("error", exact=True).uncheck()
    page.get_by_label("Task").select_option("explode")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"task=explode"))
    assert sorted(_ids_shown(page)) == ids[22:]


def test_cancel_selected_and_the_none_selected_message(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    ids = [svc.add("echo", n) for n in range(4)]
    login(page, served, "operate-secret")
    page.goto(jobs_url(served, svc))
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("No jobs selected")
    page.get_by_label(f"Select job {ids[0]}").check()
    page.get_by_label(f"Select job {ids[2]}").check()
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Cancelled 2 jobs.")
    statuses = [svc.status(job_id) for job_id in ids]
    assert statuses == [CANCELLED, QUEUED, CANCELLED, QUEUED]
    expect(page.locator(f"#job-{ids[0]} .status")).to_have_text("cancelled")


def test_remove_completed_confirms_the_count(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    done = [svc.add("echo", n) for n in range(3)]
    svc.process()
    waiting = svc.add("echo", "still queued")
    login(page, served, "admin-secret")  # removing by status is cleaning: admin
    page.goto(jobs_url(served, svc))
    page.get_by_text("Actions on every job matching this filter").click()
    page.get_by_role("link", name="Remove all completed…").click()
    expect(page.locator("#count")).to_have_text("3")
    assert svc.counts()[COMPLETED] == 3  # the confirmation page changed nothing
    page.get_by_role("button", name="Remove 3 jobs").click()
    expect(page.get_by_role("status")).to_have_text("Removed 3 completed jobs.")
    assert COMPLETED not in svc.counts()
    assert svc.status(waiting) == QUEUED
    expect(page.locator(f"#job-{done[0]}")).to_have_count(0)


def test_add_and_edit_a_cron_job_with_preview(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    login(page, served, "admin-secret")
    page.goto(f"{served.url}/services/{svc.ref}/cron")
    page.get_by_role("link", name="Add a cron job").click()
    page.get_by_label("Task").select_option("echo")
    page.get_by_label("Input (JSON)").fill('{"report": "daily"}')
    page.get_by_label("Minute").fill("30")
    page.get_by_label("Hour").fill("2,13")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#describe")).to_be_visible()
    expect(page.locator("#next-times li")).to_have_count(5)
    expect(page.locator("#next-times li").first).to_have_text("Sat 2026-11-28 13:30 UTC")
    assert svc.list_jobs() == []  # a preview stores nothing
    page.get_by_role("button", name="Add cron job").click()
    expect(page.get_by_role("status")).to_contain_text("added")
    (job,) = svc.list_jobs()
    assert (job.status, job.input, job.schedule and job.schedule.hour) == (
        CRONJOB,
        {"report": "daily"},
        (2, 13),
    )
    expect(page.locator(".detail-box")).to_have_text("Not scheduled yet")

    page.get_by_role("link", name="Edit schedule").click()
    expect(page.get_by_label("Hour")).to_have_value("2,13")
    page.get_by_label("crontab expression").check()
    page.get_by_label("Expression", exact=True).fill("*/15 9-17 * * 1-5")
    page.get_by_label("Timezone").fill("Europe/Berlin")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#next-times li")).to_have_count(5)
    expect(page.locator("#next-times li").first).to_contain_text("Mon 2026-11-30 09:00 CET")
    page.get_by_role("button", name="Save and reschedule").click()
    expect(page.get_by_role("status")).to_contain_text("rescheduled")
    schedule = svc.job(job.id).schedule
    assert schedule is not None
    assert (schedule.cron, schedule.timezone) == ("*/15 9-17 * * 1-5", "Europe/Berlin")

    svc.process()  # the next pass schedules it: the cron list shows when
    page.goto(f"{served.url}/services/{svc.ref}/cron")
    row = page.locator(f"#cron-{job.id}")
    expect(row.locator("time")).to_have_attribute("title", "2026-11-30 08:00:00 UTC")
    expect(row.locator("time")).to_have_text(re.compile(r"^in 46 h"))  # by the server clock
    row.get_by_role("button", name="Run once now").click()
    expect(page.get_by_role("status")).to_contain_text(f"task and input of cron job {job.id}")
    assert [j.input for j in svc.list_jobs() if j.status == QUEUED] == [{"report": "daily"}]


def test_a_bad_field_set_is_explained(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    login(page, served, "admin-secret")
    page.goto(f"{served.url}/services/{svc.ref}/cron/new")
    page.get_by_label("Hour").fill("two")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#err-hour")).to_have_text(
        "hour: 'two' is not a number; give * or numbers from 0 to 23 separated by spaces or commas"
    )
    page.get_by_label("Hour").fill("25")
    page.get_by_role("button", name="Add cron job").click()
    expect(page.locator("#err-hour")).to_contain_text("within 0-23")
    assert svc.list_jobs() == []


def test_a_failed_job_shows_its_traceback_and_can_be_retried(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("explode", {"file": "a.mov"})
    svc.process()
    login(page, served, "operate-secret")
    page.goto(f"{served.url}/services/{svc.ref}/jobs/{job_id}")
    expect(page.locator("#error")).to_have_text("cannot handle {'file': 'a.mov'}")
    expect(page.locator("#error-type")).to_have_text("ValueError")
    expect(page.locator("#traceback")).to_contain_text("Traceback (most recent call last)")
    expect(page.locator("#traceback")).to_contain_text("raise ValueError")
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_have_text(f"Job {job_id} is queued again.")
    assert svc.status(job_id) == QUEUED


def test_a_task_detail_renderer_is_used_in_the_table(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("convert", {"file": "holiday.mov"})
    login(page, served, "read-secret")
    page.goto(jobs_url(served, svc))
    expect(page.locator(f"#job-{job_id} .convert-detail")).to_have_text("Converting holiday.mov")


def test_a_read_token_sees_no_buttons_and_its_forged_post_is_refused(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("echo", 1)
    login(page, served, "read-secret")
    expect(page.locator("main button")).to_have_count(0)
    page.goto(jobs_url(served, svc))
    expect(page.locator(f"#job-{job_id}")).to_be_visible()
    expect(page.locator("main form[method=post]")).to_have_count(0)
    expect(page.locator("table input[type=checkbox]")).to_have_count(0)
    page.goto(f"{served.url}/services/{svc.ref}/jobs/{job_id}")
    expect(page.locator("main form")).to_have_count(0)
    csrf = page.locator("header input[name=csrf]").get_attribute("value")
    assert csrf
    forged = page.request.post(
        f"{served.url}/services/{svc.ref}/jobs/selected",
        form={"csrf": csrf, "action": "cancel", "ids": str(job_id)},
    )
    assert forged.status == 403
    response = page.request.post(
        f"{served.url}/services/{svc.ref}/jobs/{job_id}/cancel", form={"csrf": csrf}
    )
    assert response.status == 403
    assert svc.status(job_id) == QUEUED


def test_posts_without_csrf_token_or_from_another_origin_are_refused(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("echo", 1)
    login(page, served, "admin-secret")
    cancel = f"{served.url}/services/{svc.ref}/jobs/{job_id}/cancel"
    assert page.request.post(cancel, form={"x": "1"}).status == 403
    assert page.request.post(cancel, form={"csrf": "wrong"}).status == 403
    csrf = page.locator("header input[name=csrf]").get_attribute("value")
    assert csrf
    other = page.request.post(
        cancel, form={"csrf": csrf}, headers={"Origin": "http://evil.example"}
    )
    assert other.status == 403
    assert svc.status(job_id) == QUEUED
    assert page.request.post(cancel, form={"csrf": csrf}).status == 200  # after the redirect
    assert svc.status(job_id) == CANCELLED


def test_script_in_user_data_renders_as_text(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    payload = '<script>alert(1)</script><img src=x onerror=alert(2)>"onmouseover="alert(3)'
    job_id = svc.add("echo", payload)
    failed = svc.add("explode", payload)
    svc.process()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, served, "admin-secret")
    for path in (f"jobs/{job_id}", f"jobs/{failed}", f"jobs?task={payload}", "jobs"):
        page.goto(f"{served.url}/services/{svc.ref}/{path}")
        expect(page.locator("main")).to_contain_text("<script>alert(1)</script>")
        assert page.locator("script").count() == 2  # htmx and ui.js, nothing injected
        assert page.locator("main img, [onerror], [onmouseover]").count() == 0
        if path == f"jobs/{failed}":
            assert page.locator("#error").inner_text().count("<img src=x") == 1
    assert dialogs == []


def test_a_foreign_sites_service_answers_404(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    login(page, served, "operate-secret")
    expect(page.get_by_role("link", name=str(svc.ref))).to_be_visible()
    expect(page.get_by_role("link", name="site2@Foreign")).to_have_count(0)
    for path in (
        "services/site2@Foreign/jobs",
        "services/site2@Foreign/cron",
        "services/nope/jobs",
    ):
        response = page.goto(f"{served.url}/{path}")
        assert response is not None
        assert response.status == 404
    refused = page.request.post(
        f"{served.url}/services/site2@Foreign/processing",
        form={"csrf": "irrelevant", "action": "start"},
    )
    assert refused.status in (403, 404)
    assert not served.app.service("site2@Foreign").is_processing()
