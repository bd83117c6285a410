"""R2: a worker frozen (SIGSTOP) for three leases while it holds jobs, then resumed.

Its jobs run elsewhere meanwhile; once resumed the zombie learns from its first
lease renewal that the runs were taken back and abandons them: their tasks hear
``ctx.cancelled()`` and stop, and their late completions are refused. The figures
of a longer run (``R2_ROUNDS``, ``R2_LEASE``) are in docs/reliability.md.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.harness import (
    enqueue,
    overlaps,
    query,
    spawn,
    stale_completions,
    stop,
    wait_for,
    worker_command,
)

pytestmark = pytest.mark.postgres
ROUNDS = int(os.environ.get("R2_ROUNDS", "2"))
LEASE = float(os.environ.get("R2_LEASE", "1"))
HELD = 5
ABANDONED = "lease lost"
REFUSED = "result discarded"
STOPPED = "stopped: cancelled"


def lines(log: Path, text: str) -> int:
    return log.read_text(errors="replace").count(text) if log.exists() else 0


def freeze_once(url: str, zombie_log: Path, rescuer_log: Path) -> tuple[int, float]:
    """One round: return the zombie's pid and how long after SIGCONT it gave its runs up."""
    # The first attempt outlives the freeze, so the zombie resumes mid-run; the
    # re-run elsewhere is short. The task checks ctx.cancelled() as it sleeps.
    job = {"first_ms": 5000 * LEASE, "ms": 100, "cooperative": True}
    ids = enqueue(url, "record", [job] * HELD)
    zombie = spawn(worker_command(url, "--threads", str(HELD)), zombie_log, LEASE)
    rescuer = None
    try:
        wait_for(
            lambda: query(url, "SELECT count(*) FROM ledger WHERE job_id = ANY(%s)", (ids,))[0][0],
            lambda n: n == HELD,
            30,
            "the zombie runs its jobs",
        )
        os.kill(zombie.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        rescuer = spawn(worker_command(url, "--threads", str(HELD)), rescuer_log, LEASE)
        wait_for(
            lambda: query(
                url,
                "SELECT count(*) FROM jobs WHERE id = ANY(%s) AND status = 'completed'",
                (ids,),
            )[0][0],
            lambda n: n == HELD,
            30,
            "the jobs ran elsewhere",
        )
        time.sleep(max(0.0, frozen + 3 * LEASE - time.monotonic()))
        abandoned, refused = lines(zombie_log, ABANDONED), lines(zombie_log, REFUSED)
        os.kill(zombie.pid, signal.SIGCONT)
        resumed = time.monotonic()
        wait_for(
            lambda: lines(zombie_log, ABANDONED) - abandoned,
            lambda n: n == HELD,
            30,
            "the zombie abandons its runs",
        )
        noticed = time.monotonic() - resumed
        wait_for(
            lambda: lines(zombie_log, REFUSED) - refused,
            lambda n: n == HELD,
            30,
            "the zombie's late completions come back refused",
        )
        assert zombie.poll() is None, "the zombie keeps serving other jobs"
        return zombie.pid, noticed
    finally:
        os.kill(zombie.pid, signal.SIGCONT)
        stop(zombie)
        if rescuer is not None:
            stop(rescuer)


def test_a_frozen_worker_loses_its_jobs_and_its_late_writes_are_refused(
    postgres_url: str, tmp_path: Path
) -> None:
    zombie_log = tmp_path / "zombie.log"
    rounds = [
        freeze_once(postgres_url, zombie_log, tmp_path / f"rescuer{i}.log") for i in range(ROUNDS)
    ]
    zombie_pids = sorted(pid for pid, _ in rounds)
    noticed = [seconds for _, seconds in rounds]
    total = ROUNDS * HELD
    statuses = query(postgres_url, "SELECT status, count(*) FROM jobs GROUP BY status")
    by_zombie = query(
        postgres_url,
        "SELECT count(*) FROM jobs WHERE (result::json->>'pid')::int = ANY(%s)",
        (zombie_pids,),
    )[0][0]
    stale = stale_completions(postgres_url)
    overlapping = overlaps(postgres_url, {})
    abandoned, refused = lines(zombie_log, ABANDONED), lines(zombie_log, REFUSED)
    stopped = lines(zombie_log, STOPPED)
    print(
        f"\nR2: {ROUNDS} rounds of a worker holding {HELD} jobs frozen (SIGSTOP) for "
        f"{3 * LEASE:g} s = 3 leases, then SIGCONT: statuses {dict(statuses)}; "
        f"results stored from the zombie {by_zombie}; stale completions accepted {stale}; "
        f"runs abandoned on the first renewal {abandoned}/{total}; tasks that heard "
        f"ctx.cancelled() and stopped {stopped}/{total}; late completions refused "
        f"{refused}/{total}; overlapping attempts (expected, the zombie ran on) {overlapping}; "
        f"noticed after SIGCONT max {max(noticed) * 1000:.0f} ms"
    )
    assert dict(statuses) == {"completed": total}
    assert (by_zombie, stale) == (0, 0)
    assert (abandoned, stopped, refused) == (total, total, total)
