"""The remote client: ``Client(url, token).service("site@Svc")`` offers TaskService's verbs.

Code written against a local ``TaskService`` runs against a remote one
unchanged: the same method names and arguments, the same return types
(``Job``, ``Status``, ``Schedule``) and the same exceptions (a problem's
``code`` names the class). Only HTTP and ``jobs``/``errors`` are needed here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Unpack
from urllib.parse import quote

import httpx

from remotetask import jsonvalue
from remotetask.errors import (
    AuthenticationError,
    FieldError,
    InvalidInputError,
    InvalidStatusError,
    JobNotFoundError,
    PermissionDeniedError,
    RemoteTaskError,
    RequestError,
    ServerUnavailableError,
    error_class,
)
from remotetask.jobs import FINISHED, Job, JobQuery, Status
from remotetask.refs import ServiceRef
from remotetask.schedule import Schedule, ScheduleFields

LONG_POLL_SECONDS = 30.0
"""The longest single ``?wait=`` a client asks for; ``wait`` repeats it as needed."""
UPDATE_SECONDS = 1.0
"""The longest single poll while someone watches a job's progress (``wait(on_update=…)``)."""
RETRY_PAUSES = (0.2, 1.0)
"""Pauses before the retries of a request that is safe to repeat, when the server is
unavailable (no connection, 503); ``Retry-After`` shortens them, never lengthens them."""
BULK_CHUNK = 1000
"""Most inputs ``add_many`` sends in one request."""


@dataclass(frozen=True, slots=True)
class RemoteTask:
    """A task as the server describes it (the callable stays on the server).

    The schemas are JSON Schema documents of the task's input and result, or
    None where the task takes or returns any JSON value.
    """

    name: str
    description: str
    input_schema: dict[str, Any] | None = None
    result_schema: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RemoteTask:
        return cls(
            data["name"],
            data.get("description", ""),
            data.get("input_schema"),
            data.get("result_schema"),
        )


class Client:
    """An HTTP connection to ``remotetask serve``; use as a context manager or ``close()``."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "remotetask-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:
        return f"<Client {self.url}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def service(self, ref: str | ServiceRef) -> RemoteService:
        """The service ``site@Service`` on the server (checked on first use)."""
        parsed = ref if isinstance(ref, ServiceRef) else ServiceRef.parse(ref)
        return RemoteService(self, parsed)

    def services(self) -> list[str]:
        """References of the services the token may see."""
        return [item["ref"] for item in self.request("GET", "/api/v1/services").json()]

    def add_service(self, ref: str) -> RemoteService:
        """Create a service on the server (admin role) and return it."""
        self.request("POST", "/api/v1/services", json={"ref": ref})
        return self.service(ref)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        retry: bool | None = None,
    ) -> httpx.Response:
        """Send a request; a problem answer raises the matching remotetask exception.

        A request that is safe to repeat (``retry``; by default GETs) is sent again
        after short pauses while the server is unavailable.
        """
        content = None
        all_headers = dict(headers or {})
        if json is not None:
            content = jsonvalue.dumps(json).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        pauses = RETRY_PAUSES if (method == "GET" if retry is None else retry) else ()
        for pause in (*pauses, None):
            try:
                response = self._http.request(
                    method,
                    path,
                    content=content,
                    params=params,
                    headers=all_headers,
                    timeout=self.timeout if timeout is None else timeout,
                )
            except httpx.TransportError as exc:
                error: RemoteTaskError = ServerUnavailableError(f"cannot reach {self.url}: {exc}")
                wait = pause
            else:
                if response.is_success:
                    return response
                error = _exception(response)
                wait = _retry_after(response, pause) if response.status_code == 503 else None
            if wait is None:
                raise error
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(response: httpx.Response, pause: float | None) -> float | None:
    """The pause before a retry: ours, or the server's ``Retry-After`` if that is shorter."""
    if pause is None:
        return None
    try:
        return min(pause, float(response.headers.get("retry-after", pause)))
    except ValueError:
        return pause


def _exception(response: httpx.Response) -> RemoteTaskError:
    """The exception a problem answer stands for."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    code = body.get("code") if isinstance(body, dict) else None
    message = str(detail or f"HTTP {response.status_code} from {response.request.url}")
    cls = error_class(code) if isinstance(code, str) else None
    if cls is None:
        if response.status_code == 401:
            cls = AuthenticationError
        elif response.status_code == 403:
            cls = PermissionDeniedError
        elif response.status_code >= 500:
            cls = ServerUnavailableError
        elif code == "validation":
            cls = InvalidInputError
        else:
            cls = RequestError
    if cls is InvalidInputError:
        return InvalidInputError(message, _field_errors(body))
    return cls(message)


def _field_errors(body: Any) -> list[FieldError]:
    """The ``errors`` of a problem: within the input (``loc``), else where in the request."""
    items = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    return [
        FieldError(
            tuple(item.get("loc") or str(item.get("pointer", "")).split("/")),
            str(item.get("detail", "")),
        )
        for item in items
        if isinstance(item, dict)
    ]


class RemoteService:
    """A service on a server, with the verbs of TaskService."""

    def __init__(self, client: Client, ref: ServiceRef) -> None:
        self.client = client
        self.ref = ref
        self._base = f"/api/v1/services/{quote(str(ref), safe='@')}"

    def __repr__(self) -> str:
        return f"<RemoteService {self.ref} at {self.client.url}>"

    def _call(self, method: str, path: str = "", **kwargs: Any) -> Any:
        response = self.client.request(method, self._base + path, **kwargs)
        return None if response.status_code == 204 else response.json()

    # -- tasks and jobs ---------------------------------------------------------------

    def available_tasks(self) -> dict[str, RemoteTask]:
        """Every task the service can run, by name."""
        items = self._call("GET", "/tasks")
        return {item["name"]: RemoteTask.from_json(item) for item in items}

    def add(
        self,
        task: str,
        input: Any = None,
        *,
        start_later: bool = False,
        idempotency_key: str | None = None,
    ) -> int:
        """Queue a job and return its id (a repeated ``idempotency_key`` returns the first).

        Without a key the client makes one, so that it can safely send the request
        again when the server was unavailable: the job is stored at most once.
        """
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        body = {"task": task, "input": input, "start_later": start_later}
        return int(self._call("POST", "/jobs", json=body, headers=headers, retry=True)["id"])

    def add_many(
        self, task: str, inputs: Iterable[Any], *, idempotency_key: str | None = None
    ) -> list[int]:
        """Queue one job per input, ``BULK_CHUNK`` per request (each one transaction).

        Like ``add``, each request carries an idempotency key (derived from
        ``idempotency_key`` when given), so a retried request stores nothing twice.
        """
        key = idempotency_key or uuid.uuid4().hex
        values = list(inputs)
        ids: list[int] = []
        for start in range(0, len(values), BULK_CHUNK):
            body = {"task": task, "inputs": values[start : start + BULK_CHUNK]}
            headers = {"Idempotency-Key": f"{key}.{start // BULK_CHUNK}"}
            data = self._call("POST", "/jobs/bulk", json=body, headers=headers, retry=True)
            ids.extend(int(i) for i in data["ids"])
        return ids

    def add_cron_job(self, task: str, input: Any = None, **schedule: Unpack[ScheduleFields]) -> int:
        """Add a cron job or, with ``delay``, a one-shot delayed job; return its id."""
        new = Schedule.of(**schedule)
        if new.is_delay:
            body: dict[str, Any] = {"task": task, "input": input, "delay": new.delay}
            return int(self._call("POST", "/jobs", json=body)["id"])
        fields = {key: value for key, value in new.to_json().items() if key != "delay"}
        return int(
            self._call("POST", "/cron-jobs", json={"task": task, "input": input, **fields})["id"]
        )

    def update_cron_job(self, job_id: int, **schedule: Unpack[ScheduleFields]) -> Schedule:
        """Replace a cron or delayed job's whole schedule and reschedule it (as the original).

        What is not given takes its default; ``change_cron_job`` keeps the rest.
        """
        body = Schedule.of(**schedule).to_json()
        data = self._call("PUT", f"/cron-jobs/{int(job_id)}/schedule", json=body)
        return Schedule.from_json(data["schedule"])

    def change_cron_job(self, job_id: int, **fields: Unpack[ScheduleFields]) -> Schedule:
        """Change only the schedule fields given, keep the others, and reschedule the job."""
        body = {
            k: list(v) if isinstance(v, Iterable) and not isinstance(v, str) else v
            for k, v in fields.items()
        }
        data = self._call("PATCH", f"/cron-jobs/{int(job_id)}", json=body)
        return Schedule.from_json(data["schedule"])

    def start_job(self, job_id: int) -> bool:
        return bool(self._call("POST", f"/jobs/{int(job_id)}/start")["started"])

    def cancel(self, job_id: int) -> bool:
        return bool(self._call("POST", f"/jobs/{int(job_id)}/cancel")["cancelled"])

    def retry(self, job_id: int) -> bool:
        return bool(self._call("POST", f"/jobs/{int(job_id)}/retry")["retried"])

    def delete(self, job_id: int) -> bool:
        """Remove a finished job; False if it has not finished."""
        try:
            self._call("DELETE", f"/jobs/{int(job_id)}")
        except InvalidStatusError:
            return False
        return True

    def cancel_all(self) -> int:
        return int(self._call("POST", "/jobs/cancel-all")["count"])

    def clean(self, statuses: Iterable[Status | str] = FINISHED) -> int:
        """Remove finished jobs with these statuses; return how many were removed."""
        body = {"statuses": sorted(str(s) for s in statuses)}
        return int(self._call("POST", "/clean", json=body)["count"])

    # -- reading ----------------------------------------------------------------------

    def job(self, job_id: int) -> Job:
        return Job.from_json(self._call("GET", f"/jobs/{int(job_id)}"))

    def status(self, job_id: int) -> Status:
        return self.job(job_id).status

    def result(self, job_id: int) -> Any:
        return self.job(job_id).result

    def error(self, job_id: int) -> str | None:
        return self.job(job_id).error

    def poll(self, job_id: int, wait: float) -> Job:
        """The job, as soon as it is finished or after ``wait`` seconds (one long-poll)."""
        data = self._call(
            "GET",
            f"/jobs/{int(job_id)}",
            params={"wait": round(max(0.0, wait), 3)},
            timeout=wait + self.client.timeout,
        )
        return Job.from_json(data)

    def wait(
        self,
        job_id: int,
        timeout: float | None = None,
        *,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        """Long-poll until the job is finished; TimeoutError after ``timeout`` seconds.

        ``on_update`` sees the job at once and after every poll; the polls are then
        at most ``UPDATE_SECONDS`` long, so that progress can be shown while it runs.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        longest = LONG_POLL_SECONDS if on_update is None else UPDATE_SECONDS
        pause = longest if on_update is None else 0.0
        while True:
            left = pause if deadline is None else deadline - time.monotonic()
            job = self.poll(job_id, min(left, pause))
            if on_update is not None:
                on_update(job)
            if job.status in FINISHED:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout} s")
            pause = longest

    def list_jobs(self, query: JobQuery | None = None) -> list[Job]:
        """One page of jobs, as ``TaskService.list_jobs``."""
        query = query or JobQuery()
        params: dict[str, Any] = {
            "sort": "newest" if query.newest_first else "oldest",
            "limit": query.limit,
        }
        if query.statuses:
            params["status"] = sorted(str(s) for s in query.statuses)
        if query.task is not None:
            params["task"] = query.task
        if query.after_id is not None:
            later = (job for job in self._pages(params) if _after(job.id, query))
            return [job for _, job in zip(range(query.limit), later, strict=False)]
        page = self._call("GET", "/jobs", params=params)
        return [self._whole(item) for item in page["items"]]

    def page(
        self,
        *,
        statuses: Iterable[Status | str] = (),
        task: str | None = None,
        limit: int = 50,
        oldest_first: bool = False,
        cursor: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """One page of jobs and the cursor of the next page (None at the end)."""
        params: dict[str, Any] = {"limit": limit, "sort": "oldest" if oldest_first else "newest"}
        if statuses:
            params["status"] = sorted(str(s) for s in statuses)
        if task is not None:
            params["task"] = task
        if cursor is not None:
            params["cursor"] = cursor
        data = self._call("GET", "/jobs", params=params)
        return [self._whole(item) for item in data["items"]], data["next_cursor"]

    def _whole(self, item: dict[str, Any]) -> Job:
        """A listed job with every value: one too large for the list is fetched on its own."""
        return self.job(item["id"]) if item.get("truncated") else Job.from_json(item)

    def _pages(self, params: dict[str, Any]) -> Iterator[Job]:
        params = dict(params)
        while True:
            page = self._call("GET", "/jobs", params=params)
            for item in page["items"]:
                yield self._whole(item)
            if page["next_cursor"] is None:
                return
            params["cursor"] = page["next_cursor"]

    def cron_jobs(self) -> list[Job]:
        """Waiting cron and delayed jobs with their next call time."""
        return [self._whole(item) for item in self._call("GET", "/cron-jobs")]

    def counts(self) -> dict[Status, int]:
        data = self._call("GET")
        return {Status(k): int(v) for k, v in data["counts"].items()}

    @property
    def jobs(self) -> Mapping[int, Job]:
        """Every job of the service by id, fetched from the server on access."""
        return RemoteJobs(self)

    # -- processing -------------------------------------------------------------------

    def start_processing(self) -> None:
        self._call("POST", "/processing/start")

    def stop_processing(self) -> None:
        self._call("POST", "/processing/stop")

    def is_processing(self) -> bool:
        return bool(self._call("GET")["processing"])


def _after(job_id: int, query: JobQuery) -> bool:
    assert query.after_id is not None
    return job_id < query.after_id if query.newest_first else job_id > query.after_id


class RemoteJobs(Mapping[int, Job]):
    """Read-only mapping of a remote service's jobs."""

    def __init__(self, service: RemoteService) -> None:
        self._service = service

    def __getitem__(self, job_id: int) -> Job:
        try:
            return self._service.job(job_id)
        except JobNotFoundError:
            raise KeyError(job_id) from None

    def __iter__(self) -> Iterator[int]:
        params = {"sort": "oldest", "limit": 500}
        return iter([job.id for job in self._service._pages(params)])

    def __len__(self) -> int:
        return sum(self._service.counts().values())
