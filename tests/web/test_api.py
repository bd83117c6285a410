"""The JSON API over plain HTTP: problems, paging, long-polls, idempotency, operations."""

from __future__ import annotations

import re
import sqlite3
import threading

import pytest

from tests.web.conftest import SITE1, Served

JOBS = f"/api/v1/services/{SITE1}/jobs"


def test_errors_are_problem_documents(served: Served) -> None:
    with served.http() as http:
        cases = {
            404: http.get("/api/v1/nothing"),
            405: http.put(JOBS),
            409: http.delete(f"{JOBS}/{served.app.service(SITE1).add('echo', start_later=True)}"),
            422: http.get(JOBS, params={"limit": 0}),
        }
        cases[400] = http.get(JOBS, params={"cursor": "garbage"})
        for status, response in cases.items():
            assert response.status_code == status, response.text
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["status"] == status
            assert body["type"].startswith("urn:remotetask:problem:")
            assert body["detail"]
        assert "not allowed" in cases[405].json()["detail"]
        for huge in ("99999999999999999999", "-1", "0"):
            assert http.get(f"{JOBS}/{huge}").status_code == 422
            assert http.post(f"{JOBS}/{huge}/cancel").status_code == 422
        assert cases[422].json()["errors"][0]["pointer"] == "query/limit"


def test_add_get_and_location(served: Served) -> None:
    with served.http() as http:
        created = http.post(JOBS, json={"task": "echo", "input": {"a": [1, 2]}})
        assert created.status_code == 201
        job = created.json()
        assert job["status"] == "queued"
        assert created.headers["location"].endswith(f"{JOBS}/{job['id']}")
        again = http.get(created.headers["location"]).json()
        assert again["input"] == {"a": [1, 2]}
        delayed = http.post(JOBS, json={"task": "echo", "delay": 60}).json()
        assert delayed["status"] == "delayed"
        at_once = http.post(JOBS, json={"task": "echo", "delay": 0}).json()
        assert (at_once["status"], at_once["schedule"]) == ("queued", None)  # 0 is no delay
        root = http.post("/api/v1/services/%40RootTaskService/jobs", json={"task": "echo"})
        assert root.json()["service"] == "@RootTaskService"


def test_list_filters_sorting_and_cursor_paging(served: Served) -> None:
    service = served.app.service(SITE1)
    ids = [service.add("echo", n) for n in range(7)]
    service.add("counter")
    with served.http() as http:
        seen: list[int] = []
        params: dict[str, object] = {"task": "echo", "limit": 3, "sort": "oldest"}
        while True:
            page = http.get(JOBS, params=params)
            body = page.json()
            seen.extend(item["id"] for item in body["items"])
            if body["next_cursor"] is None:
                assert "link" not in page.headers
                break
            assert re.match(r'<http://.+cursor=.+>; rel="next"', page.headers["link"])
            params["cursor"] = body["next_cursor"]
        assert seen == ids
        service.cancel(ids[0])
        cancelled = http.get(JOBS, params={"status": "cancelled"}).json()["items"]
        assert [item["id"] for item in cancelled] == [ids[0]]
        newest = http.get(JOBS, params={"limit": 1}).json()["items"][0]
        assert newest["task"] == "counter"


def test_long_poll_answers_when_the_job_ends(served: Served) -> None:
    service = served.app.service(SITE1)
    job_id = service.add("progress")
    answers: list[dict[str, object]] = []

    def poll() -> None:
        with served.http() as http:
            answers.append(http.get(f"{JOBS}/{job_id}", params={"wait": 5}).json())

    waiter = threading.Thread(target=poll)
    waiter.start()
    service.process()
    waiter.join(10)
    assert answers[0]["status"] == "completed"
    assert answers[0]["progress"] == 1.0
    with served.http() as http:
        queued = http.get(f"{JOBS}/{service.add('echo')}", params={"wait": 0.05}).json()
    assert queued["status"] == "queued"


def test_idempotency_key(served: Served) -> None:
    with served.http() as http:
        body = {"task": "echo", "input": 1}
        first = http.post(JOBS, json=body, headers={"Idempotency-Key": '"abc-1"'}).json()
        second = http.post(JOBS, json=body, headers={"Idempotency-Key": "abc-1"}).json()
        assert first["id"] == second["id"]
        other = http.post(
            JOBS, json={"task": "echo", "input": 2}, headers={"Idempotency-Key": "abc-1"}
        )
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency-mismatch"
        assert http.post(JOBS, json=body, headers={"Idempotency-Key": ""}).status_code == 400
    assert len(served.app.service(SITE1).jobs) == 1


def test_operator_actions_and_admin(served: Served) -> None:
    service = served.app.service(SITE1)
    failing = service.add("error")
    service.process()
    with served.http() as http:
        assert http.post(f"{JOBS}/{failing}/retry").json() == {"retried": True}
        assert http.post(f"{JOBS}/{failing}/retry").json() == {"retried": False}
        assert http.post(f"{JOBS}/cancel-all").json() == {"count": 1}
        assert http.delete(f"{JOBS}/{failing}").status_code == 204
        base = f"/api/v1/services/{SITE1}"
        assert http.post(f"{base}/processing/start").json() == {"processing": True}
        assert http.get(base).json()["processing"] is True
        assert http.post(f"{base}/processing/stop").json() == {"processing": False}
        created = http.post("/api/v1/services", json={"ref": "site3@New"})
        assert created.status_code == 201
        assert http.post("/api/v1/services", json={"ref": "bad ref"}).status_code == 422
        cron = http.post(f"{base}/cron-jobs", json={"task": "echo", "cron": "0 3 * * *"}).json()
        patched = http.patch(f"{base}/cron-jobs/{cron['id']}", json={"timezone": "Asia/Tokyo"})
        assert patched.json()["schedule"]["cron"] == "0 3 * * *"  # PATCH keeps the rest
        assert patched.json()["schedule"]["timezone"] == "Asia/Tokyo"
        schedule = f"{base}/cron-jobs/{cron['id']}/schedule"
        replaced = http.put(schedule, json={"minute": [5], "hour": [4]}).json()["schedule"]
        assert (replaced["cron"], replaced["timezone"]) == (None, "UTC")  # PUT replaces all
        assert (replaced["minute"], replaced["hour"]) == ([5], [4])
        assert http.put(schedule, json={"second": [1]}).status_code == 422
        refused = http.put(schedule, json={"delay": 60})
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid-schedule")
        assert http.put(f"{base}/cron-jobs/424242/schedule", json={}).status_code == 404
        service.process()
        listed = http.get(f"{base}/cron-jobs").json()
        assert [item["id"] for item in listed] == [cron["id"]]
        assert listed[0]["next_call"] is not None
        assert http.post(f"{base}/clean", json={"statuses": ["queued"]}).status_code == 422
        assert http.post(f"{base}/clean").json() == {"count": 0}


def test_health_metrics_and_offline_docs(served: Served) -> None:
    service = served.app.service(SITE1)
    service.add("echo")
    service.add("error")
    service.process()
    with served.http(None) as anonymous:
        assert anonymous.get("/livez").json() == {"status": "ok"}
        assert anonymous.get("/readyz").json()["status"] == "ok"
        assert anonymous.get("/metrics").status_code == 401
        page = anonymous.get("/docs")
        assert page.status_code == 200
        assert "content-security-policy" in page.headers
        assets = [anonymous.get(f"/docs/{name}").text for name in ("docs.js", "docs.css")]
        for text in (page.text, *assets):
            assert "://" not in text
    with served.http("read") as http:
        metrics = http.get("/metrics")
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    assert f'remotetask_jobs_submitted_total{{service="{SITE1}",task="echo"}} 1' in text
    assert 'outcome="error"} 1' in text
    assert f'remotetask_jobs{{service="{SITE1}",status="completed"}} 1' in text
    assert "remotetask_job_run_seconds_bucket" in text
    assert 'le="+Inf"} 1' in text
    assert "# TYPE remotetask_db_" in text  # the database's own gauges (Store.health)


def test_concurrent_requests_with_one_idempotency_key_make_one_job(served: Served) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def submit() -> None:
        with served.http() as http:
            response = http.post(
                JOBS, json={"task": "echo", "input": "x"}, headers={"Idempotency-Key": "same"}
            )
        with lock:
            ids.append(response.json()["id"])

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(ids) == 20
    assert len(set(ids)) == 1
    assert len(served.app.service(SITE1).jobs) == 1


def test_a_job_reads_the_same_through_the_fast_path_and_the_router(served: Served) -> None:
    """A plain read takes the fast path (``web/fastpath.py``); anything else, the router."""
    job_id = served.app.service(SITE1).add("echo", {"n": 1})
    with served.http() as http:
        fast = http.get(f"{JOBS}/{job_id}", params={"wait": 0})
        routed = http.get(f"{JOBS}/{job_id}", params={"wait": "0", "other": "x"})
        assert fast.status_code == routed.status_code == 200
        assert fast.json() == routed.json()
        assert fast.headers["content-type"] == routed.headers["content-type"]
        for missing in (f"{JOBS}/{job_id + 100}", "/api/v1/services/nope@Nope/jobs/1"):
            for params in ({}, {"other": "x"}):
                answer = http.get(missing, params=params)
                assert answer.status_code == 404
                assert answer.headers["content-type"] == "application/problem+json"
        for wait in ("abc", "-1", "1e9", "inf", "nan", ""):
            answer = http.get(f"{JOBS}/{job_id}", params={"wait": wait})
            assert answer.status_code == 422, wait
            assert answer.json()["errors"][0]["pointer"] == "query/wait"
        assert http.get(f"{JOBS}/{job_id}", params={"token": "x"}).status_code == 401
    with served.http(None) as anonymous:
        assert anonymous.get(f"{JOBS}/{job_id}").status_code == 401


def test_an_unexpected_error_on_a_fast_path_is_a_logged_problem(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """The fast paths run in front of FastAPI's server-error layer: they answer its way."""
    job_id = served.app.service(SITE1).add("echo", {"n": 1})
    with sqlite3.connect(served.app.store.path) as db:  # type: ignore[attr-defined]
        db.execute("UPDATE jobs SET status = 'no-such-status' WHERE id = ?", (job_id,))
    with served.http() as http:
        answer = http.get(f"{JOBS}/{job_id}")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "the server failed to answer; the error is in its log"
    assert f"unexpected error on GET {JOBS}/{job_id}" in caplog.text


def test_parameters_are_clamped(served: Served) -> None:
    with served.http() as http:
        assert http.get(JOBS, params={"limit": 10**9}).status_code == 422
        assert http.get(f"{JOBS}/1", params={"wait": 10**9}).status_code == 422
        assert http.get(JOBS, params={"status": "nonsense"}).status_code == 422


def test_tokens_over_http_need_an_admin_of_every_site(served: Served) -> None:
    with served.http("site1-admin") as scoped:
        assert scoped.get("/api/v1/tokens").status_code == 403
        assert scoped.post("/api/v1/tokens", json={"name": "x"}).status_code == 403
    with served.http() as admin:
        listed = admin.get("/api/v1/tokens").json()
        assert "admin" in [t["name"] for t in listed]
        assert all("secret" not in t for t in listed)
        created = admin.post(
            "/api/v1/tokens", json={"name": "bot", "role": "submit", "sites": ["site1"]}
        )
        assert created.status_code == 201
        secret = created.json()["secret"]
        token_id = created.json()["token"]["id"]
        assert admin.post("/api/v1/tokens", json={"name": "y", "role": "root"}).status_code == 422
    bot = {"Authorization": f"Bearer {secret}"}
    with served.http(None) as http:
        assert http.post(JOBS, json={"task": "echo"}, headers=bot).status_code == 201
        assert http.post(f"{JOBS}/1/cancel", headers=bot).status_code == 403
    with served.http() as admin:
        assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 204
        assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 404
    with served.http(None) as http:
        assert http.get(JOBS, headers=bot).status_code == 401
