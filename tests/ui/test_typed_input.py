"""The cron form with a typed task: an input the task refuses is shown on the form, not a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import remotetask
from tests.ui.server import serve
from tests.ui.test_http import ADMIN, csrf_of, log_in


@pytest.fixture
def root() -> Iterator[tuple[str, remotetask.App]]:
    app = remotetask.App("sqlite://")

    def resize(input: dict[str, int]) -> None: ...

    app.register("resize", resize)
    app.add_service("site1@S")
    with serve(app, verify_token={"good": ADMIN}.get) as url:
        yield url, app
    app.close()


def test_a_refused_input_is_shown_on_the_cron_form(root: tuple[str, remotetask.App]) -> None:
    url, app = root
    with httpx.Client(base_url=url.removesuffix("/ui"), follow_redirects=False) as http:
        log_in(http)
        form = http.get("/ui/services/site1@S/cron/new")
        answer = http.post(
            "/ui/services/site1@S/cron/new",
            data={
                "csrf": csrf_of(form),
                "task": "resize",
                "input": '{"width": "wide"}',
                "kind": "delay",
                "delay": "60",
                "do": "save",
            },
        )
    assert answer.status_code == 400  # the form again, as for any other mistake on it
    assert "width: Input should be a valid integer" in answer.text
    assert len(app.service("site1@S").jobs) == 0
