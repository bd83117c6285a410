"""Security: every route refuses bad tokens, sites are isolated, bad bodies store nothing."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from remotetask.web import WebSettings, create_web_app
from tests.web.conftest import SITE1, SITE2, Served

PUBLIC = {("get", "/livez"), ("get", "/readyz")}
JOBS = f"/api/v1/services/{SITE1}/jobs"


def spec_routes(served: Served) -> list[tuple[str, str]]:
    with served.http(None) as http:
        spec = http.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    return [
        (
            method,
            path.replace("{service}", SITE1).replace("{job_id}", "1").replace("{token_id}", "1"),
        )
        for path, item in spec["paths"].items()
        for method in item
    ]


@pytest.mark.parametrize("credentials", [None, "Bearer rt_wrong", "revoked", "Basic eDp5"])
def test_every_route_in_the_spec_refuses_bad_tokens(
    served: Served, credentials: str | None
) -> None:
    if credentials == "revoked":
        credentials = f"Bearer {served.tokens['revoked']}"
    headers = {} if credentials is None else {"Authorization": credentials}
    routes = spec_routes(served)
    assert len(routes) >= 20
    open_routes = set()
    with httpx.Client(base_url=served.url, headers=headers) as http:
        for method, path in routes:
            response = http.request(method, path)
            if (method, path) in PUBLIC:
                open_routes.add((method, path))
                assert response.status_code == 200
                continue
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"]
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert open_routes == PUBLIC
    assert len(served.app.service(SITE1).jobs) == 0


def test_a_token_in_the_query_string_is_refused(served: Served) -> None:
    with httpx.Client(base_url=served.url) as http:
        response = http.get(JOBS, params={"token": served.tokens["admin"]})
    assert response.status_code == 401
    assert "Authorization header" in response.json()["detail"]


def test_sites_are_isolated(served: Served) -> None:
    foreign = served.app.service(SITE2).add("echo", "secret")
    with served.http("site1-admin") as http:
        base = f"/api/v1/services/{SITE2}"
        for method, path in [
            ("get", f"{base}/jobs/{foreign}"),
            ("post", f"{base}/jobs/{foreign}/cancel"),
            ("get", f"{base}/jobs"),
            ("post", f"{base}/jobs/cancel-all"),
            ("get", base),
        ]:
            response = http.request(method, path)
            assert response.status_code == 404, (method, path)
            assert "secret" not in response.text
        mine = f"/api/v1/services/{SITE1}/jobs/{foreign}"
        assert http.get(mine).status_code == 404
        assert http.post(f"{mine}/cancel").status_code == 404
        services = [s["ref"] for s in http.get("/api/v1/services").json()]
        assert services == [SITE1]
        metrics = http.get("/metrics").text
        assert "site2" not in metrics
    assert served.app.service(SITE2).status(foreign) == "queued"


@pytest.mark.parametrize(
    ("token", "method", "path", "status"),
    [
        ("read", "post", f"{JOBS}/1/cancel", 403),
        ("read", "post", JOBS, 403),
        ("submit", "post", f"{JOBS}/1/retry", 403),
        ("submit", "post", f"{JOBS}/cancel-all", 403),
        ("operate", "post", f"/api/v1/services/{SITE1}/clean", 403),
        ("operate", "post", f"/api/v1/services/{SITE1}/cron-jobs", 403),
        ("operate", "post", "/api/v1/services", 403),
        ("operate", "post", f"{JOBS}/1/cancel", 200),
        ("read", "get", f"{JOBS}/1", 200),
    ],
)
def test_roles(served: Served, token: str, method: str, path: str, status: int) -> None:
    served.app.service(SITE1).add("echo")
    with served.http(token) as http:
        response = http.request(method, path, json={"task": "echo"} if method == "post" else None)
    assert response.status_code == status, response.text
    if status == 403:
        assert "role" in response.json()["detail"]
        assert served.app.service(SITE1).status(1) == "queued"


MALFORMED = [
    (b'{"task": "echo", "input": NaN}', "application/json", 400),
    (b'{"task": "echo", "input": Infinity}', "application/json", 400),
    (b'{"task": "echo", "task": "error"}', "application/json", 400),
    (b'{"task": "echo", "input": "\xff\xfe"}', "application/json", 400),
    (b'{"task": "echo", "input": ' + b"[" * 40 + b"]" * 40 + b"}", "application/json", 400),
    (b"[" * 10_000 + b"]" * 10_000, "application/json", 400),
    (b'{"task": "echo"', "application/json", 400),
    (b'{"task": "echo"}', "text/plain", 415),
    (b'{"task": "echo"}', "", 415),
    (b"task=echo", "application/x-www-form-urlencoded", 415),
    (b'{"task": "echo", "extra": 1}', "application/json", 422),
    (b'{"task": "", "input": 1}', "application/json", 422),
    (b'{"task": "nope"}', "application/json", 422),
    (b'{"task": "echo", "delay": -1}', "application/json", 422),
    (b'"just a string"', "application/json", 422),
    (b'{"task": "echo", "input": "' + b"x" * 70_000 + b'"}', "application/json", 413),
]


@pytest.mark.parametrize(("body", "content_type", "status"), MALFORMED)
def test_malformed_bodies_store_nothing(
    served: Served, body: bytes, content_type: str, status: int
) -> None:
    with served.http() as http:
        response = http.post(JOBS, content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]
    assert len(served.app.service(SITE1).jobs) == 0


def test_a_streamed_oversized_body_is_cut_off(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"task": "echo", "input": "'
        for _ in range(1000):
            yield b"x" * 1024
        yield b'"}'

    with served.http() as http:
        response = http.post(JOBS, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert len(served.app.service(SITE1).jobs) == 0


def test_a_lying_content_length_is_refused_before_the_body(served: Served) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST {JOBS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {served.tokens['admin']}\r\n"
            "Content-Length: 999999999\r\n\r\n".encode()
        )
        head, body = read_response(sock)
    assert head.startswith("HTTP/1.1 413")
    assert json.loads(body)["status"] == 413


def read_response(sock: socket.socket) -> tuple[str, bytes]:
    """One HTTP response read off a raw socket: the head as text and the body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection before answering"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-body"
        body += chunk
    return head.decode("latin-1"), body


def test_auth_is_on_by_default(served: Served) -> None:
    settings = WebSettings()
    assert settings.auth is True
    web = create_web_app(served.app)
    assert web.state.authenticator.enabled is True
