"""The bound on jobs claimed and not yet stored (docs/reliability.md), on PostgreSQL."""

from __future__ import annotations

import remotetask
from remotetask import COMPLETED, PROCESSING, MultiProcessor, Settings
from remotetask.processing import CLAIM_AHEAD, COMMIT_BATCH


def test_jobs_claimed_ahead_keep_to_the_bound(postgres_url: str) -> None:
    """Every job claimed and not yet stored is ``processing``: never more than the bound.

    On PostgreSQL a commit's claim runs beside its store, so for that moment the jobs of
    the group being stored are counted too (docs/reliability.md).
    """
    app = remotetask.App(postgres_url, settings=Settings(auto_migrate=True))
    app.register("noop", lambda _input: None)
    service = app.add_service("@Bound")
    total = 4000
    for start in range(0, total, 1000):
        service.add_many("noop", list(range(start, start + 1000)))
    bound = 2 + CLAIM_AHEAD + COMMIT_BATCH
    seen: list[int] = []
    service.start_processing(MultiProcessor(2))
    while (counts := service.counts()).get(COMPLETED, 0) < total:
        seen.append(counts.get(PROCESSING, 0))
    app.close()
    assert max(seen) <= bound
    assert max(seen) > 2  # it did claim ahead
