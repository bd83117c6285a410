"""A live server on 127.0.0.1 over a fresh SQLite file, with tokens of every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

import remotetask
from remotetask.auth import Role
from remotetask.tokens import issue_token
from remotetask.web import WebSettings
from tests.conftest import register_seed_tasks
from tests.web.live import LiveServer

SITE1 = "site1@TestTaskService1"
SITE2 = "site2@Other"
ROOT = "@RootTaskService"


@dataclass
class Served:
    """The running server, its App and a secret per token name."""

    server: LiveServer
    app: remotetask.App
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def http(self, token: str | None = "admin") -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {self.tokens[token]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def client(self, token: str = "admin") -> remotetask.Client:
        return remotetask.Client(self.url, self.tokens[token])


def make_app(url: str) -> remotetask.App:
    app = remotetask.App(url, settings=remotetask.Settings(wait_time=0.05, shutdown_grace=2))
    register_seed_tasks(app)

    @app.task(context=True)
    def progress(ctx: remotetask.JobContext, input: object) -> str:
        """Report progress in steps, then finish."""
        for step in range(1, 5):
            ctx.report_progress(step / 4, f"step {step}")
        return "done"

    for ref in (SITE1, SITE2, ROOT):
        app.add_service(ref)
    return app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    app = make_app(f"sqlite:///{tmp_path / 'web.db'}")
    tokens = {}
    grants = {
        "admin": (Role.ADMIN, ["*"]),
        "read": (Role.READ, ["site1"]),
        "submit": (Role.SUBMIT, ["site1"]),
        "operate": (Role.OPERATE, ["site1"]),
        "site1-admin": (Role.ADMIN, ["site1"]),
        "site2": (Role.ADMIN, ["site2"]),
        "revoked": (Role.ADMIN, ["*"]),
    }
    for name, (role, sites) in grants.items():
        token, secret = issue_token(app.store, name, role, sites, app.clock.now())
        tokens[name] = secret
        if name == "revoked":
            app.store.revoke_token(token.id, app.clock.now())
    with LiveServer(app, WebSettings(max_body=64 * 1024, max_wait=5)) as server:
        yield Served(server, app, tokens)
    app.close()
