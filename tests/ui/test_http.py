"""Headers, cookies and sessions over plain HTTP (httpx), without a browser."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

import remotetask
from remotetask.ui import Principal
from remotetask.ui.security import CSP
from tests.ui.conftest import Served
from tests.ui.server import serve

ADMIN = Principal("alice", "admin", ("*",))


@pytest.fixture
def tokens() -> dict[str, Principal]:
    return {"good": ADMIN}


@pytest.fixture
def root(tokens: dict[str, Principal]) -> Iterator[str]:
    """A UI of its own (its tokens can change), served; yields the server's root URL."""
    app = remotetask.App("sqlite://")
    app.register("echo", lambda input: input)
    app.add_service("site1@S")
    with serve(app, verify_token=tokens.get) as url:
        yield url.removesuffix("/ui")
    app.close()


@pytest.fixture
def client(root: str) -> Iterator[Callable[..., httpx.Client]]:
    """Makes browser-like clients (closed after the test).

    ``scheme="https"`` is announced the way a TLS proxy on loopback does.
    """
    made: list[httpx.Client] = []

    def make(scheme: str = "http") -> httpx.Client:
        headers = {"X-Forwarded-Proto": scheme}
        made.append(httpx.Client(base_url=root, follow_redirects=False, headers=headers))
        return made[-1]

    yield make
    for http in made:
        http.close()


def csrf_of(response: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', response.text)
    assert found, "no CSRF field on the page"
    return found.group(1)


def log_in(http: httpx.Client, token: str = "good") -> httpx.Response:
    page = http.get("/ui/login")
    return http.post("/ui/login", data={"csrf": csrf_of(page), "token": token})


def test_every_response_has_the_security_headers(served: Served) -> None:
    with httpx.Client(base_url=served.url) as http:
        for path in ("/login", "/static/ui.js", "/no-such-page", "/"):
            response = http.get(served.url + path)
            csp = response.headers["content-security-policy"]
            assert csp == CSP
            assert "default-src 'self'" in csp
            assert "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert "unsafe-eval" not in csp
            assert response.headers["x-content-type-options"] == "nosniff"


def test_the_session_cookie_is_httponly_lax_scoped_and_secure_over_https(
    client: Callable[..., httpx.Client],
) -> None:
    plain = log_in(client()).headers["set-cookie"]
    assert "remotetask_ui=" in plain
    assert "HttpOnly" in plain
    assert "SameSite=lax" in plain
    assert "Path=/ui/" in plain
    assert "Secure" not in plain
    secure = log_in(client("https")).headers["set-cookie"]
    assert "Secure" in secure


def test_anonymous_visitors_leave_no_session_and_logout_ends_one(
    client: Callable[..., httpx.Client],
) -> None:
    http = client()
    page = http.get("/ui/login")
    assert "remotetask_ui" not in page.cookies  # only a login creates server state
    response = log_in(http)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/"
    cookie = response.cookies["remotetask_ui"]
    assert http.get("/ui/").status_code == 200
    home = http.get("/ui/")
    assert http.post("/ui/logout", data={"csrf": csrf_of(home)}).status_code == 303
    stale = client()
    stale.cookies.set("remotetask_ui", cookie)
    gone = stale.get("/ui/")
    assert gone.status_code == 303
    assert "why=expired" in gone.headers["location"]


def test_a_wrong_token_is_refused_and_nothing_opens_without_login(
    client: Callable[..., httpx.Client],
) -> None:
    http = client()
    assert log_in(http, "bad").status_code == 401
    response = http.get("/ui/services/site1@S/jobs")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Fservices%2Fsite1%40S%2Fjobs"
    htmx = http.get("/ui/services/site1@S/jobs", headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/ui/login")


def test_a_forged_cookie_is_not_a_session(client: Callable[..., httpx.Client]) -> None:
    http = client()
    cookie = log_in(http).cookies["remotetask_ui"]
    session_id, _, pad = cookie.partition(".")

    def flip(text: str) -> str:
        return ("B" if text[0] != "B" else "C") + text[1:]

    for forged_cookie in (f"{flip(session_id)}.{pad}", f"{session_id}.{flip(pad)}", "x", ""):
        forged = client()
        forged.cookies.set("remotetask_ui", forged_cookie)
        assert forged.get("/ui/").status_code == 303, forged_cookie
    assert http.get("/ui/").status_code == 200


def test_a_revoked_token_ends_its_session_at_once(
    client: Callable[..., httpx.Client], tokens: dict[str, Principal]
) -> None:
    http = client()
    log_in(http)
    assert http.get("/ui/").status_code == 200
    del tokens["good"]
    assert http.get("/ui/").status_code == 303
    tokens["good"] = ADMIN
    assert http.get("/ui/").status_code == 303  # the session is gone, not just paused


def test_login_never_redirects_off_the_ui(client: Callable[..., httpx.Client]) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/elsewhere", "/ui/\\evil"):
        http = client()
        page = http.get("/ui/login")
        response = http.post(
            "/ui/login", data={"csrf": csrf_of(page), "token": "good", "next": target}
        )
        assert response.headers["location"] == "/ui/"


def test_gets_have_no_side_effects_and_actions_refuse_get(
    client: Callable[..., httpx.Client],
) -> None:
    http = client()
    log_in(http)
    assert http.get("/ui/services/site1@S/processing").status_code == 405
    assert http.get("/ui/services/site1@S/bulk?action=remove-finished").status_code == 200
    assert http.get("/ui/services/site1@S/bulk?action=drop-tables").status_code == 400
