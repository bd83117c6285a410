from __future__ import annotations

import pytest

from remotetask.testing import run_until_idle, stub_service


def test_stub_service_runs_test_only_tasks() -> None:
    service = stub_service({"double": lambda input: input * 2})
    assert list(service.available_tasks()) == ["double"]
    ids = [service.add("double", n) for n in range(3)]
    assert run_until_idle(service) == 3
    assert [service.result(j) for j in ids] == [0, 2, 4]


def test_run_until_idle_stops_a_task_that_feeds_itself() -> None:
    holder = {}

    def again(input: int) -> None:
        holder["service"].add("again", input + 1)

    service = stub_service({"again": again})
    holder["service"] = service
    service.add("again", 0)
    with pytest.raises(RuntimeError, match="still busy after 5 jobs"):
        run_until_idle(service, limit=5)
