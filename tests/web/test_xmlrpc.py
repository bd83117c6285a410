"""XML-RPC with Python's own xmlrpc.client, as a script written for the original would."""

from __future__ import annotations

import xmlrpc.client

import httpx
import pytest

from tests.web.conftest import ROOT, SITE1, Served


def proxy(served: Served, ref: str = SITE1, token: str = "admin") -> xmlrpc.client.ServerProxy:
    host = served.url.removeprefix("http://")
    return xmlrpc.client.ServerProxy(f"http://any:{served.tokens[token]}@{host}/xmlrpc/{ref}")


def test_the_seed_walk_through_runs_unchanged(served: Served) -> None:
    with proxy(served) as service:
        walk_through(served, service)


def walk_through(served: Served, service: xmlrpc.client.ServerProxy) -> None:
    assert sorted(service.getAvailableTasks()) == ["counter", "echo", "error", "progress"]
    jobid = service.add("echo", {"foo": "bar"})
    assert isinstance(jobid, int)
    assert service.getStatus(jobid) == "queued"
    assert service.getResult(jobid) is None
    service.cancel(jobid)
    assert service.getStatus(jobid) == "cancelled"
    assert service.getError(jobid) == "None"

    jobid = service.add("echo", {"foo": "bar"})
    served.app.service(SITE1).process()
    assert service.getStatus(jobid) == "completed"
    assert service.getResult(jobid) == {"foo": "bar"}

    jobid = service.add("error")
    served.app.service(SITE1).process()
    assert service.getStatus(jobid) == "error"
    assert service.getError(jobid) == "An error occurred."


def test_available_tasks_and_cancel_answer_as_the_original(served: Served) -> None:
    """The original's view: a sorted list of names, and True from every cancel."""
    with proxy(served) as service:
        original_answers(served, service)


def original_answers(served: Served, service: xmlrpc.client.ServerProxy) -> None:
    tasks = service.getAvailableTasks()
    assert tasks == ["counter", "echo", "error", "progress"]
    with served.http() as http:
        raw = http.post(
            f"/xmlrpc/{SITE1}",
            content=xmlrpc.client.dumps((), "getAvailableTasks").encode(),
            headers={"Content-Type": "text/xml"},
        ).text
    assert "<array><data>\n<value><string>counter</string></value>" in raw
    assert service.system.methodSignature("getAvailableTasks") == [["array"]]

    local = served.app.service(SITE1)
    done = service.add("echo", 1)
    local.process()
    assert service.cancel(done) is True  # finished: left alone, still True
    assert service.getStatus(done) == "completed"
    assert service.cancel(424242) is True  # unknown id: True, as the original
    foreign = served.app.service(ROOT).add("echo")
    assert service.cancel(foreign) is True  # another service's job is not touched
    assert served.app.service(ROOT).status(foreign) == "queued"
    waiting = service.add("echo")
    assert service.cancel(waiting) is True
    assert service.cancel(waiting) is True  # already cancelled
    assert service.getStatus(waiting) == "cancelled"
    with pytest.raises(xmlrpc.client.Fault) as bad:
        service.cancel("1")
    assert bad.value.faultCode == 400


def test_root_service_start_later_and_introspection(served: Served) -> None:
    with proxy(served, ROOT) as root:
        introspect(root)


def introspect(root: xmlrpc.client.ServerProxy) -> None:
    jobid = root.add("echo", "x", True)
    assert root.getStatus(jobid) == "start later"
    assert root.startJob(jobid) is True
    assert root.startJob(jobid) is False
    methods = root.system.listMethods()
    assert {"add", "cancel", "getStatus", "getResult", "getError", "getAvailableTasks"} <= set(
        methods
    )
    assert root.listMethods() == methods
    assert "jobid" in root.methodHelp("getStatus")
    assert root.system.methodSignature("add")[0] == ["int", "string"]


def test_faults_for_errors(served: Served) -> None:
    with proxy(served) as service, proxy(served, token="read") as reader_proxy:
        check_faults(service, reader_proxy)


def check_faults(
    service: xmlrpc.client.ServerProxy, reader_proxy: xmlrpc.client.ServerProxy
) -> None:
    with pytest.raises(xmlrpc.client.Fault) as unknown:
        service.add("no-such-task")
    assert unknown.value.faultCode == 422
    assert "no-such-task" in unknown.value.faultString
    with pytest.raises(xmlrpc.client.Fault) as missing:
        service.getStatus(424242)
    assert missing.value.faultCode == 404
    for bad_call in (
        lambda: service.getStatus(),
        lambda: service.getStatus("1"),
        lambda: service.add(5),
    ):
        with pytest.raises(xmlrpc.client.Fault) as bad:
            bad_call()
        assert bad.value.faultCode == 400
    with pytest.raises(xmlrpc.client.Fault) as not_json:
        service.add("echo", xmlrpc.client.DateTime())
    assert not_json.value.faultCode == 422
    with pytest.raises(xmlrpc.client.Fault) as nomethod:
        service.frobnicate()
    assert nomethod.value.faultCode == -32601
    with pytest.raises(xmlrpc.client.Fault) as reader:
        reader_proxy.add("echo")
    assert reader.value.faultCode == 403
    assert reader_proxy.getAvailableTasks()


def test_authentication_and_site_scope(served: Served) -> None:
    host = served.url.removeprefix("http://")
    for url in (f"http://{host}/xmlrpc/{SITE1}", f"http://any:wrong@{host}/xmlrpc/{SITE1}"):
        with (
            xmlrpc.client.ServerProxy(url) as anonymous,
            pytest.raises(xmlrpc.client.ProtocolError) as refused,
        ):
            anonymous.getAvailableTasks()
        assert refused.value.errcode == 401
    with (
        proxy(served, token="revoked") as revoked_proxy,
        pytest.raises(xmlrpc.client.ProtocolError) as revoked,
    ):
        revoked_proxy.getAvailableTasks()
    assert revoked.value.errcode == 401
    with (
        proxy(served, "site2@Other", token="read") as foreign,
        pytest.raises(xmlrpc.client.ProtocolError) as hidden,
    ):
        foreign.getAvailableTasks()
    assert hidden.value.errcode == 404


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<methodCall><methodName>add</methodName><params><param><value><string>echo</string></value>
</param><param><value><string>&lol2;</string></value></param></params></methodCall>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>add</methodName><params><param><value><string>echo</string></value>
</param><param><value><string>&ext;</string></value></param></params></methodCall>"""


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (BOMB, "text/xml", 200),
        (EXTERNAL, "text/xml", 200),
        (b"<methodCall><methodName>add</methodName><params>", "text/xml", 200),
        (b"not xml at all", "text/xml", 200),
        (xmlrpc.client.dumps(("echo",), "add").encode(), "application/json", 415),
        (xmlrpc.client.dumps(("echo", "x" * 70_000), "add").encode(), "text/xml", 413),
    ],
)
def test_hostile_requests_store_nothing(
    served: Served, body: bytes, content_type: str, status: int
) -> None:
    with served.http() as http:
        response = http.post(
            f"/xmlrpc/{SITE1}", content=body, headers={"Content-Type": content_type}
        )
    assert response.status_code == status
    if status == 200:
        with pytest.raises(xmlrpc.client.Fault) as fault:
            xmlrpc.client.loads(response.content)
        assert fault.value.faultCode == 400
    assert len(served.app.service(SITE1).jobs) == 0


def test_values_xmlrpc_cannot_carry_become_faults(served: Served) -> None:
    with proxy(served) as service:
        big_values(served, service)


def big_values(served: Served, service: xmlrpc.client.ServerProxy) -> None:
    jobid = service.add("echo", 2**40 // 2**20)
    served.app.service(SITE1).add("echo", 2**40)
    big = max(served.app.service(SITE1).jobs)
    served.app.service(SITE1).process()
    assert service.getResult(jobid) == 2**20
    with pytest.raises(xmlrpc.client.Fault) as fault:
        service.getResult(big)
    assert fault.value.faultCode == 422
    with httpx.Client() as http:
        assert http.get(f"{served.url}/xmlrpc/{SITE1}").status_code == 405
