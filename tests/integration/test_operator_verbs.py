"""retry, delete, cancel_all, wait, tokens and observers, on every backend."""

from __future__ import annotations

import pytest

import remotetask
from remotetask import App, TaskService
from remotetask.auth import Role, hash_secret, new_secret
from remotetask.errors import InvalidInputError, InvalidStatusError, JobNotFoundError
from remotetask.jobs import Job, Outcome
from remotetask.refs import ServiceRef
from remotetask.tokens import issue_token


def test_retry_requeues_an_errored_job_with_attempts_reset(service: TaskService) -> None:
    job_id = service.add("error")
    service.process()
    assert service.status(job_id) == "error"
    assert service.job(job_id).attempts == 1
    assert service.retry(job_id) is True
    job = service.job(job_id)
    assert (job.status, job.attempts, job.error, job.ended) == ("queued", 0, None, None)
    service.process()
    assert service.status(job_id) == "error"
    assert service.retry(service.add("echo")) is False


def test_retry_refuses_cron_jobs_and_unknown_ids(service: TaskService) -> None:
    cron_id = service.add_cron_job("echo", minute=[5])
    with pytest.raises(InvalidStatusError):
        service.retry(cron_id)
    with pytest.raises(JobNotFoundError):
        service.retry(999_999)


def test_delete_removes_only_finished_jobs(service: TaskService) -> None:
    done = service.add("echo", 1)
    waiting = service.add("echo", 2, start_later=True)
    service.process()
    assert service.delete(waiting) is False
    assert service.delete(done) is True
    assert done not in service.jobs
    with pytest.raises(JobNotFoundError):
        service.delete(done)


def test_cancel_all_cancels_waiting_jobs_of_this_service_only(app: App) -> None:
    one = app.add_service("site1@One")
    other = app.add_service("site2@Other")
    ids = [one.add("echo"), one.add("echo", start_later=True), one.add_cron_job("echo", hour=[1])]
    kept = other.add("echo")
    assert one.cancel_all() == 3
    assert {one.status(i) for i in ids} == {"cancelled"}
    assert other.status(kept) == "queued"
    assert one.cancel_all() == 0


def test_wait_returns_the_finished_job_or_times_out(service: TaskService) -> None:
    job_id = service.add("echo", "x")
    with pytest.raises(TimeoutError):
        service.wait(job_id, timeout=0.01)
    service.process()
    assert service.wait(job_id, timeout=1).result == "x"


def test_tokens_are_stored_by_hash_and_revocable(app: App) -> None:
    secret = new_secret()
    assert app.store.count_tokens() == 0
    token = app.store.insert_token(
        "ci", hash_secret(secret), Role.SUBMIT, ["site1", "b*"], 10.0, None
    )
    assert secret not in repr(app.store.list_tokens())
    found = app.store.token_by_hash(hash_secret(secret))
    assert found == token
    assert token.sees("site1")
    assert token.sees("beta")
    assert not token.sees("site2")
    assert token.role.allows(Role.READ)
    assert not token.role.allows(Role.OPERATE)
    assert app.store.revoke_token(token.id, 20.0) is True
    assert app.store.revoke_token(token.id, 21.0) is False
    revoked = app.store.token_by_hash(hash_secret(secret))
    assert revoked is not None
    assert not revoked.active(30.0)
    app.store.touch_token(token.id, 40.0)
    assert app.store.list_tokens()[0].last_used == 40.0
    assert app.store.count_tokens() == 1


class Recorder:
    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.finished: list[tuple[int, str]] = []

    def job_submitted(self, ref: ServiceRef, tasks: list[str]) -> None:
        self.submitted.extend(tasks)

    def job_finished(self, ref: ServiceRef, job: Job, outcome: Outcome, finished: float) -> None:
        self.finished.append((job.id, str(outcome.status)))
        raise RuntimeError("observers that fail are ignored")


def test_observers_hear_of_submissions_and_ends(service: TaskService) -> None:
    recorder = Recorder()
    service.app.observers.append(recorder)
    ok = service.add("echo")
    bad = service.add("error")
    service.process()
    assert recorder.submitted == ["echo", "error"]
    assert recorder.finished == [(ok, "completed"), (bad, "error")]
    assert service.status(ok) == remotetask.COMPLETED


def test_issued_tokens_expire_and_need_a_name_and_sites(app: App) -> None:
    token, secret = issue_token(app.store, "short", "operate", ["*"], 100.0, expires=200.0)
    assert secret.startswith("rt_")
    assert len(secret) == 46
    assert token.active(199.0)
    assert not token.active(200.0)
    assert token.sees("")
    assert token.sees("any-site")
    with pytest.raises(InvalidInputError):
        issue_token(app.store, " ", "read", ["*"], 100.0)
    with pytest.raises(InvalidInputError):
        issue_token(app.store, "none", "read", [], 100.0)
    with pytest.raises(InvalidInputError, match="admin"):
        issue_token(app.store, "bad", "superuser", ["*"], 100.0)
