"""The job-id box on every page: ids are global, so one number finds a job anywhere."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from remotetask.refs import ServiceRef
from remotetask.ui.common import job_id_of, redirect, ui, url, visit


def find_job(request: Request) -> Response:
    """Go to the job with this id, in whichever service (the token may see) holds it."""
    current = visit(request)
    text = request.query_params.get("id", "")
    job_id = job_id_of(text)
    if job_id is None:
        raise HTTPException(404, f"{text[:40]!r} is not a job id: ids are whole numbers.")
    job = ui(request).app.find_job(job_id)
    if job is None or not current.principal.sees(ServiceRef.parse(job.service).site):
        raise HTTPException(404, f"There is no job {job_id} that you may see.")
    return redirect(url(request, "job", service=job.service, job_id=job.id))
