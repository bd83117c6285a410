"""``list_job_summaries``: long values are not read for lists, on every backend (item 8)."""

from __future__ import annotations

import remotetask
from remotetask.jobs import JobQuery


def test_long_values_are_left_out_and_named(service: remotetask.TaskService) -> None:
    long_input = service.add("echo", "x" * 5000)
    short = service.add("echo", {"n": 1})
    failed = service.add("error")
    service.process()
    summaries = service.job_summaries(JobQuery(newest_first=False), 4096)
    by_id = {job.id: (job, cut) for job, cut in summaries}
    job, cut = by_id[long_input]
    assert cut == ("input", "result")
    assert job.input is None
    assert job.result is None
    assert job.status == "completed"
    job, cut = by_id[short]
    assert cut == ()
    assert job.input == {"n": 1}
    assert job.result == {"n": 1}
    assert by_id[failed][0].error == "An error occurred."
    assert service.job(long_input).input == "x" * 5000  # the job itself is whole
    assert [job.id for job, _ in summaries] == [
        job.id for job in service.list_jobs(JobQuery(newest_first=False))
    ]
