"""The management UI inside `remotetask serve`: the API's tokens log in, with their roles."""

from __future__ import annotations

import os
import re

import httpx

from tests.web.conftest import Served


def ui_login(served: Served, token: str) -> httpx.Client:
    http = httpx.Client(base_url=served.url, timeout=30)
    page = http.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = http.post("/ui/login", data={"csrf": csrf.group(1), "token": served.tokens[token]})
    assert done.status_code == 303, done.text
    return http


def test_api_tokens_log_in_to_the_ui_with_their_sites(served: Served) -> None:
    jobid = served.app.service("site1@TestTaskService1").add("echo", {"from": "api"})
    http = ui_login(served, "read")
    try:
        overview = http.get("/ui/")
        assert overview.status_code == 200
        assert "TestTaskService1" in overview.text
        assert "site2" not in overview.text  # a read token of site1 sees only site1
        job = http.get(f"/ui/services/site1@TestTaskService1/jobs/{jobid}")
        assert job.status_code == 200
        assert "from" in job.text
        assert http.get("/ui/services/site2@Other/jobs").status_code == 404
    finally:
        http.close()


def test_wrong_and_revoked_tokens_do_not_log_in(served: Served) -> None:
    for token in ("revoked",):
        http = httpx.Client(base_url=served.url, timeout=30)
        page = http.get("/ui/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        refused = http.post(
            "/ui/login", data={"csrf": csrf.group(1), "token": served.tokens[token]}
        )
        assert refused.status_code != 303
        assert http.get("/ui/").status_code in (302, 303, 307)
        http.close()


def test_the_overview_shows_the_workers_serving_a_service(served: Served) -> None:
    served.app.autostart(["site1@*"])
    http = ui_login(served, "admin")
    try:
        overview = http.get("/ui/")
        assert overview.status_code == 200
        assert f":{os.getpid()}</span> (heartbeat" in overview.text
    finally:
        http.close()
