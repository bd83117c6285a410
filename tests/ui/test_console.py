"""The operator's console in Chromium: each defect of issue 12 and each feature, for real."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

import remotetask
from remotetask.jobs import CANCELLED, COMPLETED, CRONJOB, DELAYED, ERROR, PROCESSING, QUEUED
from tests.ui.conftest import Served, jobs_url, login


def _job_url(served: Served, svc: remotetask.TaskService, job_id: int) -> str:
    return f"{served.url}/services/{svc.ref}/jobs/{job_id}"


def test_retry_selected_with_a_cron_job_ticked_reports_instead_of_failing(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    failed = svc.add("explode", 1)
    svc.process()
    cron = svc.add_cron_job("echo", 1, minute=(5,))
    login(page, served, "operate-secret")
    page.goto(jobs_url(served, svc))
    page.get_by_label(f"Select job {failed}").check()
    page.get_by_label(f"Select job {cron}").check()
    page.get_by_role("button", name="Retry", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Queued again 1 job.")
    expect(page.get_by_role("status")).to_contain_text(f"{cron} (job {cron} is a cron job")
    assert svc.status(failed) == QUEUED
    assert svc.status(cron) == CRONJOB


def test_a_start_later_job_is_started_from_its_page(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("echo", 1, start_later=True)
    login(page, served, "operate-secret")
    page.goto(_job_url(served, svc, job_id))
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("status")).to_have_text(f"Job {job_id} is queued.")
    assert svc.status(job_id) == QUEUED


def test_run_now_instead_runs_a_delayed_job_once(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add_cron_job("echo", "later", delay=3600)
    svc.process()
    login(page, served, "operate-secret")
    page.goto(_job_url(served, svc, job_id))
    page.get_by_role("button", name="Run now instead").click()
    expect(page.get_by_role("status")).to_contain_text("runs now instead")
    assert svc.process() == 1
    assert [job.status for job in svc.list_jobs()] == [COMPLETED]  # one job, run once


def test_the_cron_tab_pages_past_fifty_with_one_query_for_the_runs(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    ids = [svc.add_cron_job("echo", n, minute=(n % 60,)) for n in range(55)]
    login(page, served, "read-secret")
    page.goto(f"{served.url}/services/{svc.ref}/cron")
    expect(page.locator("tbody tr")).to_have_count(50)
    page.get_by_role("link", name="Next →").click()
    expect(page.locator("tbody tr")).to_have_count(5)
    expect(page.locator(f"#cron-{ids[-1]}")).to_be_visible()


def test_destructive_single_actions_are_confirmed_first(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    running = svc.add("echo", 1)
    (claim,) = svc.runner.claim(served.clock.now(), 1)
    cron = svc.add_cron_job("echo", 1, minute=(5,))
    login(page, served, "operate-secret")
    for job_id, button, heading in (
        (running, "Stop…", "is running"),
        (cron, "Cancel…", "stops for good"),
    ):
        page.goto(_job_url(served, svc, job_id))
        page.get_by_role("link", name=button).click()
        expect(page.locator("main")).to_contain_text(heading)
        assert svc.status(job_id) in (PROCESSING, CRONJOB)  # nothing happened yet
        page.get_by_role("button", name=f"Cancel job {job_id}").click()
    expect(page.get_by_role("status")).to_have_text(f"Job {cron} is cancelled.")
    assert svc.job(running).cancel_requested
    svc.runner.release(running, claim.key)


def test_the_cron_form_shows_only_the_chosen_way_to_schedule(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    login(page, served, "admin-secret")
    page.goto(f"{served.url}/services/{svc.ref}/cron/new")
    expect(page.get_by_label("Expression", exact=True)).to_be_hidden()
    expect(page.get_by_label("Task")).to_have_value("")  # no task chosen for you
    page.get_by_label("crontab expression").check()
    expect(page.get_by_label("Minute")).to_be_hidden()
    page.get_by_label("Expression", exact=True).fill("0 3 * * *")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#describe")).to_contain_text("03:00")
    expect(page.locator("#preview")).to_be_in_viewport()


def test_login_keeps_the_deep_link_and_says_why_it_is_shown(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    target = jobs_url(served, svc, "status=error&size=50")
    page.goto(target)
    page.get_by_label("Token").fill("read-secret")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(target)
    served.clock.advance(3 * 3600)  # past the idle timeout
    try:
        page.reload()
        expect(page.get_by_role("status")).to_have_text(
            "Your session has ended. Log in again to go on."
        )
        expect(page).to_have_url(re.compile(r"next=.*status%3Derror"))
    finally:
        served.clock.advance(-3 * 3600)


def test_a_form_sent_after_the_session_ended_says_nothing_was_changed(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("echo", 1)
    login(page, served, "operate-secret")
    page.goto(jobs_url(served, svc))
    page.get_by_label(f"Select job {job_id}").check()
    served.clock.advance(3 * 3600)
    try:
        page.get_by_role("button", name="Cancel", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("nothing was changed")
        assert svc.status(job_id) == QUEUED
    finally:
        served.clock.advance(-3 * 3600)


def test_filters_show_what_the_url_holds_and_flashes_tell_the_truth(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    running = svc.add("convert", 1)
    (claim,) = svc.runner.claim(served.clock.now(), 1)
    svc.add("echo", 2)
    login(page, served, "operate-secret")
    page.goto(jobs_url(served, svc, "status=queued&status=processing&task=convert"))
    expect(page.get_by_label("queued", exact=True)).to_be_checked()
    expect(page.get_by_label("processing", exact=True)).to_be_checked()
    chip = page.locator("#counts").get_by_role("link", name=re.compile("^processing"))
    expect(chip).to_have_attribute("href", re.compile("task=convert"))
    page.get_by_label(f"Select job {running}").check()
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Asked 1 running job to stop.")
    svc.runner.release(running, claim.key)


def test_error_pages_keep_the_header_and_point_the_way(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    other = served.app.add_service("site1@Elsewhere")
    job_id = other.add("echo", 1)
    login(page, served, "operate-secret")
    response = page.goto(f"{served.url}/services/{svc.ref}/jobs/abc")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("#detail")).to_contain_text("not a job id")
    page.goto(_job_url(served, svc, job_id))  # the job lives in another service
    expect(page).to_have_url(_job_url(served, other, job_id))
    page.get_by_label("Job id").fill(str(job_id))
    page.get_by_label("Job id").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Job {job_id}")


def test_the_job_page_is_live_and_says_when_it_lost_the_server(
    browser: Browser, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("convert", {"file": "a.mov"})
    (claim,) = svc.runner.claim(served.clock.now(), 1)
    context = browser.new_context()  # its failed refreshes log errors on purpose
    page = context.new_page()
    try:
        login(page, served, "read-secret")
        page.goto(_job_url(served, svc, job_id))
        expect(page.locator(".facts")).not_to_contain_text("40%")
        svc.store.report_progress(job_id, claim.key, 0.4, "encoding")
        expect(page.locator(".facts")).to_contain_text("40% encoding", timeout=10_000)
        expect(page.locator("[data-live-note]")).to_have_text(re.compile("Updated"))
        page.route("**/jobs/*", lambda route: route.abort())
        expect(page.locator("[data-live-lost]")).to_be_visible(timeout=10_000)
        page.unroute("**/jobs/*")
        expect(page.locator("[data-live-lost]")).to_be_hidden(timeout=10_000)
    finally:
        context.close()
        svc.runner.release(job_id, claim.key)


def test_live_rows_keep_focus_and_ticks(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    first = svc.add("echo", 1)
    second = svc.add("echo", 2)
    login(page, served, "operate-secret")
    page.goto(jobs_url(served, svc))
    page.get_by_label(f"Select job {first}").check()
    page.locator(f"#open-{second}").focus()
    svc.process()  # both rows change
    expect(page.locator(f"#job-{second} .status")).to_have_text("completed", timeout=10_000)
    assert page.evaluate("document.activeElement.id") == f"open-{second}"
    expect(page.get_by_label(f"Select job {first}")).to_be_checked()


def test_the_read_role_cannot_open_cron_forms_and_cron_pages_speak_plainly(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    cron = svc.add_cron_job("echo", 1, minute=(5,))
    delayed = svc.add_cron_job("echo", 2, delay=14400)
    login(page, served, "read-secret")
    for path in ("cron/new", f"jobs/{cron}/edit"):
        response = page.goto(f"{served.url}/services/{svc.ref}/{path}")
        assert response is not None
        assert response.status == 403
    page.goto(_job_url(served, svc, cron))
    expect(page.locator(".facts")).to_contain_text("Firings")
    page.goto(_job_url(served, svc, delayed))
    expect(page.locator(".facts")).to_contain_text("once, 4 h after it was added")


def test_odd_input_gets_a_clear_answer_never_a_500(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    login(page, served, "admin-secret")
    csrf = page.locator("header input[name=csrf]").get_attribute("value")
    assert csrf
    base = f"{served.url}/services/{svc.ref}"
    for url in (
        f"{base}/jobs?size=%C2%B2&after=%C2%B2",
        f"{base}/jobs/99999999999999999999",
        f"{base}/jobs?sort=ended&after=1:nan",
        f"{served.url}/find?id=%C2%B2",
    ):
        response = page.request.get(url)
        assert response.status < 500, url
    posts = [
        (f"{base}/jobs/selected", {"csrf": csrf, "action": "retry", "ids": "99999999999999999999"}),
        (f"{base}/jobs/selected", {"csrf": "\u00e9t\u00e9", "action": "retry", "ids": "1"}),
        (f"{base}/cron/new", {"csrf": csrf, "task": "echo", "input": "NaN", "do": "save"}),
        (f"{base}/cron/new", {"csrf": csrf, "task": "echo", "input": "[" * 500, "do": "save"}),
        (f"{base}/cron/new", {"csrf": csrf, "kind": "delay", "delay": "1e15", "do": "preview"}),
    ]
    for url, form in posts:
        response = page.request.post(url, form=form)
        assert response.status < 500, (url, form, response.status)
    page.context.add_cookies([{"name": "remotetask_ui", "value": "\u00e9.x", "url": served.url}])
    assert page.request.get(f"{served.url}/").status < 500


def test_triage_groups_errors_and_retries_a_group_keeping_the_history(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    ids = [svc.add("explode", {"file": f"clip-{n}.mov"}) for n in range(3)]
    other = svc.add("explode", 7)
    svc.process()
    login(page, served, "operate-secret")
    page.goto(f"{served.url}/services/{svc.ref}/errors")
    groups = page.locator("section.group")
    expect(groups).to_have_count(2)
    expect(groups.first).to_contain_text("3 \u00d7 explode ValueError")
    groups.first.get_by_role("button", name="Retry 3").click()
    expect(page.get_by_role("status")).to_have_text("Queued again 3 errored jobs of explode.")
    assert [svc.status(job_id) for job_id in ids] == [QUEUED] * 3
    assert svc.status(other) == ERROR
    svc.process()
    page.goto(_job_url(served, svc, ids[0]))
    expect(page.locator(".attempts li")).to_have_count(2)  # both failed runs are kept


def test_search_finds_jobs_by_input_and_error_text(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    wanted = svc.add("echo", {"file": "Holiday.mov"})
    svc.add("echo", {"file": "work.mov"})
    failed = svc.add("explode", {"file": "x"})
    svc.process()
    login(page, served, "read-secret")
    page.goto(jobs_url(served, svc))
    page.get_by_label("Input or error contains").fill("holiday")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#rows tr")).to_have_count(1)
    expect(page.locator(f"#job-{wanted}")).to_be_visible()
    page.get_by_label("Input or error contains").fill("cannot handle")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(f"#job-{failed}")).to_be_visible()
    expect(page.locator("#rows tr")).to_have_count(1)


def test_sorting_by_task_and_ended_pages_by_keyset(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    ids = [svc.add("echo" if n % 2 else "convert", n) for n in range(6)]
    svc.process()
    login(page, served, "read-secret")
    page.goto(jobs_url(served, svc, "sort=task&order=asc&size=4"))
    tasks = page.locator("#rows tr td:nth-child(2)").all_inner_texts()
    assert tasks == ["convert", "convert", "convert", "echo"]
    page.get_by_role("link", name="Next →").click()
    assert page.locator("#rows tr td:nth-child(2)").all_inner_texts() == ["echo", "echo"]
    page.goto(jobs_url(served, svc, "sort=ended&size=500"))
    expect(page.locator("#rows tr")).to_have_count(len(ids))


def test_add_a_job_from_a_schema_built_form_and_from_the_json_editor(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    login(page, served, "admin-secret")
    page.goto(f"{served.url}/services/{svc.ref}/add")
    page.get_by_label("Task").select_option("resize")
    page.get_by_role("button", name="Choose").click()
    expect(page.get_by_label("file")).to_have_attribute("required", "")
    page.get_by_label("file").fill("cat.png")
    page.get_by_label("width").fill("wide")
    page.get_by_role("button", name="Add the job").click()
    expect(page.locator("#err-width")).to_contain_text("whole number")
    page.get_by_label("width").fill("640")
    page.get_by_label("Keep Ratio").check()
    page.get_by_label("format").select_option("png")
    page.get_by_role("button", name="Add the job").click()
    expect(page.get_by_role("status")).to_contain_text("added")
    (job,) = svc.list_jobs()
    assert job.input == {"file": "cat.png", "width": 640, "keep_ratio": True, "format": "png"}
    page.goto(f"{served.url}/services/{svc.ref}/add?task=echo")
    page.get_by_label("Input of echo (JSON)").fill('{"a": 1}')
    page.get_by_label("Start later, by hand").check()
    page.get_by_role("button", name="Add the job").click()
    expect(page.get_by_role("status")).to_contain_text("added")
    assert svc.list_jobs()[0].status == "start later"


def test_edit_the_input_and_retry_or_clone(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("explode", {"file": "bad"})
    svc.process()
    login(page, served, "operate-secret")
    page.goto(_job_url(served, svc, job_id))
    page.get_by_role("link", name="Edit input and retry…").click()
    page.get_by_label("Input (JSON)").fill('{"file": "good"}')
    page.get_by_role("button", name=f"Retry job {job_id} with this input").click()
    expect(page.get_by_role("status")).to_contain_text("queued again with the new input")
    assert svc.job(job_id).input == {"file": "good"}
    assert svc.status(job_id) == QUEUED


def test_the_schedule_board_spans_services_and_pauses_cron_jobs(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    other = served.app.add_service(f"site1@Board{svc.ref.name}")
    mine = svc.add_cron_job("echo", {"board": 1}, minute=(5,))
    theirs = other.add_cron_job("convert", {"board": 2}, delay=60)
    login(page, served, "operate-secret")
    page.goto(f"{served.url}/schedules?q=board")
    expect(page.locator(f"#cron-{mine}")).to_be_visible()
    expect(page.locator(f"#cron-{theirs}")).to_be_visible()
    page.locator(f"#cron-{mine}").get_by_role("button", name="Pause").click()
    expect(page.locator(f"#cron-{mine}")).to_contain_text("paused")
    assert svc.job(mine).paused
    svc.process(served.clock.now() + 7200)
    assert svc.job(mine).attempts == 0  # a paused cron job does not fire
    page.locator(f"#cron-{mine}").get_by_role("button", name="Resume").click()
    expect(page.locator(f"#cron-{mine}")).not_to_contain_text("paused")
    assert svc.job(mine).status == CRONJOB
    assert other.job(theirs).status == DELAYED


def test_remove_one_job_after_confirming(
    page: Page, served: Served, svc: remotetask.TaskService
) -> None:
    job_id = svc.add("echo", 1)
    svc.cancel(job_id)
    login(page, served, "operate-secret")
    page.goto(_job_url(served, svc, job_id))
    page.get_by_role("link", name="Remove…").click()
    assert svc.status(job_id) == CANCELLED
    page.get_by_role("button", name=f"Remove job {job_id}").click()
    expect(page.get_by_role("status")).to_have_text(f"Job {job_id} is removed.")
    assert svc.list_jobs() == []
