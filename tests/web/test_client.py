"""The client's own errors: authentication, permission, unreachable server, missing service."""

from __future__ import annotations

import socket

import pytest

import remotetask
from remotetask.errors import UnknownServiceError
from tests.web.conftest import SITE1, SITE2, Served


def test_http_failures_become_library_exceptions(served: Served) -> None:
    with (
        remotetask.Client(served.url, "rt_not-a-token") as stranger,
        pytest.raises(remotetask.AuthenticationError),
    ):
        stranger.service(SITE1).status(1)
    served.app.service(SITE1).add("echo")
    with served.client("read") as reader:
        with pytest.raises(remotetask.PermissionDeniedError):
            reader.service(SITE1).cancel(1)
        with pytest.raises(UnknownServiceError):
            reader.service(SITE2).status(1)
        with pytest.raises(LookupError):
            reader.service("site1@Missing").status(1)
        assert reader.services() == [SITE1]
        assert reader.service(SITE1).status(1) == "queued"


def test_an_unreachable_server_is_server_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        remotetask.Client(f"http://127.0.0.1:{port}", "rt_x", timeout=5) as client,
        pytest.raises(remotetask.ServerUnavailableError),
    ):
        client.service(SITE1).status(1)


def test_wait_shows_each_update_until_the_job_ends(served: Served) -> None:
    local = served.app.service(SITE1)
    job_id = local.add("progress", start_later=True)
    seen: list[remotetask.Job] = []
    with served.client() as client:
        remote = client.service(SITE1)
        with pytest.raises(TimeoutError, match="still start later"):
            remote.wait(job_id, timeout=0.3, on_update=seen.append)
        assert seen
        assert {str(job.status) for job in seen} == {"start later"}
        local.start_processing()
        try:
            remote.start_job(job_id)
            seen.clear()
            done = remote.wait(job_id, timeout=10, on_update=seen.append)
        finally:
            local.stop_processing(wait=True)
    assert done.status == "completed"
    assert seen[-1] == done
    assert done.progress == 1.0
