"""XML-RPC at ``/xmlrpc/<site@Service>``: the original's method names and result conventions.

A script written with ``xmlrpc.client`` against lovely.remotetask works
unchanged; it authenticates with HTTP Basic, any user name and an API token
as the password: ``ServerProxy("http://any:TOKEN@host:port/xmlrpc/site1@Svc")``.

The request is parsed by the stdlib's ``xmlrpc.client.Unmarshaller`` fed from
our own expat parser, which refuses any DOCTYPE or entity declaration (so no
XML bomb or external entity can be expanded); the size limit is enforced
before by the body guard. Errors are XML-RPC faults whose codes mirror HTTP
statuses (documented in docs/xmlrpc.md).
"""

from __future__ import annotations

import re
import xml.parsers.expat
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from remotetask.auth import REQUIRED_ROLE, Action, Principal
from remotetask.errors import RemoteTaskError, UnknownServiceError, error_status
from remotetask.service import TaskService
from remotetask.web.api_jobs import log_added
from remotetask.web.auth import Authenticator, refuse_query_token, resolve_service
from remotetask.web.errors import Problem

router = APIRouter()

FAULT_BAD_REQUEST = 400
FAULT_FORBIDDEN = 403
FAULT_INVALID = 422
FAULT_NO_METHOD = -32601
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters an XML 1.0 document cannot contain, not even as character references."""


class _RefusedXml(Exception):
    """The XML carries a construct we never parse (DOCTYPE, entities)."""


@dataclass(frozen=True, slots=True)
class Method:
    func: Callable[..., Any]
    action: Action
    signatures: list[list[str]]
    help: str


def _job_id(value: Any) -> int:
    """A job id argument: an XML-RPC int, nothing else (no silent string conversion)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise xmlrpc.client.Fault(FAULT_BAD_REQUEST, f"a job id is an int, not {value!r}")
    return value


def _get_available_tasks(service: TaskService) -> list[str]:
    """The task names, sorted: what the original's XML-RPC view returned."""
    return sorted(service.available_tasks())


def _add(service: TaskService, task: str, input: Any = None, start_later: bool = False) -> int:
    if not isinstance(task, str):
        raise xmlrpc.client.Fault(FAULT_BAD_REQUEST, f"a task name is a string, not {task!r}")
    job_id = service.add(task, input, start_later=bool(start_later))
    log_added(service, job_id, task, "xmlrpc")
    return job_id


def _cancel(service: TaskService, jobid: Any) -> bool:
    """Always True, as the original's view: its answer was documented as meaningless.

    A finished job or an id this service does not know is left alone and still
    answers True; ``getStatus`` tells what happened. The JSON API reports more.
    """
    service.cancel(_job_id(jobid))
    return True


def _start_job(service: TaskService, jobid: Any) -> bool:
    service.job(_job_id(jobid))
    return service.start_job(jobid)


METHODS: dict[str, Method] = {
    "getAvailableTasks": Method(
        _get_available_tasks,
        Action.READ,
        [["array"]],
        "The names of the tasks this service can run, sorted.",
    ),
    "add": Method(
        _add,
        Action.ADD_JOB,
        [["int", "string"], ["int", "string", "any"], ["int", "string", "any", "boolean"]],
        "add(task, input=None, startLater=False): queue a job and return its id.",
    ),
    "cancel": Method(
        _cancel,
        Action.CANCEL_JOB,
        [["boolean", "int"]],
        "cancel(jobid): cancel a waiting job, ask a running one to stop; always True.",
    ),
    "startJob": Method(
        _start_job,
        Action.START_JOB,
        [["boolean", "int"]],
        "startJob(jobid): queue a start-later job; True the first time.",
    ),
    "getStatus": Method(
        lambda s, jobid: str(s.status(_job_id(jobid))),
        Action.READ,
        [["string", "int"]],
        "getStatus(jobid): queued, processing, completed, error, cancelled, ...",
    ),
    "getResult": Method(
        lambda s, jobid: _xml_value(s.result(_job_id(jobid))),
        Action.READ,
        [["any", "int"]],
        "getResult(jobid): the job's result; nil until it completed.",
    ),
    "getError": Method(
        lambda s, jobid: _NOT_XML.sub("\ufffd", str(s.error(_job_id(jobid)))),
        Action.READ,
        [["string", "int"]],
        "getError(jobid): the error message, the string 'None' when there is none.",
    ),
}
_INTROSPECTION = ("listMethods", "methodHelp", "methodSignature")


def _xml_value(value: Any) -> Any:
    """The value, if XML can carry every string in it; else a fault naming the JSON API."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts: list[str] = [item]
        elif isinstance(item, dict):
            texts = list(item)
            stack.extend(item.values())
        else:
            texts = []
            if isinstance(item, list):
                stack.extend(item)
        if any(_NOT_XML.search(text) for text in texts):
            raise xmlrpc.client.Fault(
                FAULT_INVALID,
                "the value holds control characters, which XML cannot carry; "
                "read it with the JSON API",
            )
    return value


def _introspect(name: str, params: tuple[Any, ...]) -> Any:
    everything = sorted([*METHODS, *_INTROSPECTION, *(f"system.{n}" for n in _INTROSPECTION)])
    if name == "listMethods":
        return everything
    if len(params) != 1 or not isinstance(params[0], str):
        raise xmlrpc.client.Fault(FAULT_BAD_REQUEST, f"{name} takes one method name")
    method = METHODS.get(params[0])
    if method is None:
        if params[0] in everything:
            return "Introspection." if name == "methodHelp" else [["any", "any"]]
        raise xmlrpc.client.Fault(FAULT_NO_METHOD, f"no method {params[0]!r}")
    return method.help if name == "methodHelp" else method.signatures


def safe_loads(data: bytes) -> tuple[tuple[Any, ...], str | None]:
    """Parse an XML-RPC request with the stdlib unmarshaller; refuse DOCTYPE and entities."""
    unmarshaller = xmlrpc.client.Unmarshaller(use_datetime=False, use_builtin_types=False)
    unmarshaller.xml("", None)  # expat already hands over str: no second decoding
    parser = xml.parsers.expat.ParserCreate()

    def refuse(*_: Any) -> None:
        raise _RefusedXml("DOCTYPE and entity declarations are not accepted")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = unmarshaller.start
    parser.EndElementHandler = unmarshaller.end
    parser.CharacterDataHandler = unmarshaller.data
    parser.buffer_text = True
    parser.Parse(data, True)
    return unmarshaller.close(), unmarshaller.getmethodname()


def _fault_for(exc: Exception) -> xmlrpc.client.Fault:
    if isinstance(exc, xmlrpc.client.Fault):
        return exc
    if isinstance(exc, RemoteTaskError):
        return xmlrpc.client.Fault(error_status(exc), str(exc))
    if isinstance(exc, ValueError):
        return xmlrpc.client.Fault(FAULT_INVALID, str(exc))
    if isinstance(exc, TypeError):
        return xmlrpc.client.Fault(FAULT_BAD_REQUEST, f"wrong arguments: {exc}")
    if isinstance(exc, Problem):
        return xmlrpc.client.Fault(exc.status, exc.detail)
    raise exc


def _call(authenticator: Authenticator, caller: Principal, path: str, body: bytes) -> Any:
    try:
        params, name = safe_loads(body)
    except (_RefusedXml, xml.parsers.expat.ExpatError, xmlrpc.client.ResponseError) as exc:
        raise xmlrpc.client.Fault(FAULT_BAD_REQUEST, f"not an XML-RPC request: {exc}") from None
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise xmlrpc.client.Fault(FAULT_BAD_REQUEST, f"not an XML-RPC request: {exc}") from None
    if name is None:
        raise xmlrpc.client.Fault(FAULT_BAD_REQUEST, "the request names no method")
    bare = name.removeprefix("system.")
    service = resolve_service(authenticator.app, caller, path, Action.READ)
    if bare in _INTROSPECTION:
        return _introspect(bare, params)
    method = METHODS.get(name)
    if method is None:
        raise xmlrpc.client.Fault(FAULT_NO_METHOD, f"no method {name!r}")
    if not caller.may(method.action):
        needed = REQUIRED_ROLE[method.action].value
        raise xmlrpc.client.Fault(FAULT_FORBIDDEN, f"{name} needs the {needed} role")
    return method.func(service, *params)


def _respond(body: bytes, authenticator: Authenticator, caller: Principal, path: str) -> bytes:
    try:
        result = _call(authenticator, caller, path, body)
        text = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
        # A raw CR would reach the client as LF (XML end-of-line handling); only strings hold one.
        return text.replace("\r", "&#13;").encode()
    except (UnknownServiceError, Problem):
        raise
    except (OverflowError, RecursionError) as exc:
        fault = xmlrpc.client.Fault(FAULT_INVALID, f"the value cannot be sent over XML-RPC: {exc}")
        return xmlrpc.client.dumps(fault, methodresponse=True, allow_none=True).encode()
    except Exception as exc:
        fault = _fault_for(exc)
        return xmlrpc.client.dumps(fault, methodresponse=True, allow_none=True).encode()


@router.post("/xmlrpc/{service}", include_in_schema=False)
async def xmlrpc_endpoint(service: str, request: Request) -> Response:
    """One XML-RPC call on the service; HTTP errors only for auth and unknown services."""
    refuse_query_token(request, "Basic")
    authenticator: Authenticator = request.app.state.authenticator
    caller = await authenticator.from_basic_or_bearer(request.headers.get("authorization"))
    authenticator.limit(caller, request)
    body = await request.body()
    payload = await run_in_threadpool(_respond, body, authenticator, caller, service)
    return Response(payload, media_type="text/xml")
