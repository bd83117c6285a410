"""What a context task receives besides its input."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from remotetask.service import TaskService
    from remotetask.store.base import Store


class JobContext:
    """The running job as its task sees it: who runs it, progress, cancellation."""

    def __init__(self, service: TaskService, job_id: int, attempt: int, store: Store, token: str):
        self.service = service
        self.job_id = job_id
        self.attempt = attempt
        self._store = store
        self._token = token

    def report_progress(self, fraction: float, message: str | None = None) -> None:
        """Store how far the job is (0.0-1.0) and an optional message, visible to clients."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("progress is a fraction between 0.0 and 1.0")
        self._store.report_progress(self.job_id, self._token, fraction, message)

    def cancelled(self) -> bool:
        """Whether someone asked to cancel this job; a task should return soon when it is."""
        return self._store.cancel_requested(self.job_id)
