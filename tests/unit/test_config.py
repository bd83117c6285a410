"""From configuration to an App: the database every command ends up on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import remotetask
from remotetask.config import Config, build_app

MODULE = "rt_config_app"


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user module that opens its App's store at import (it creates a service)."""
    (tmp_path / f"{MODULE}.py").write_text(
        "import remotetask\n"
        f"app = remotetask.App('sqlite:///{tmp_path / 'imported.db'}')\n"
        "app.register('echo', lambda input: input)\n"
        "app.add_service('site1@Early')\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop(MODULE, None)


def test_database_override_survives_a_store_opened_at_import(app_module: Path) -> None:
    override = f"sqlite:///{app_module / 'override.db'}"
    config = Config(app=f"{MODULE}:app", database=override, services=("site1@Converter",))
    app = build_app(config)
    try:
        job_id = app.service("site1@Converter").add("echo", 1)
    finally:
        app.close()
    overriding = remotetask.App(override)
    imported = remotetask.App(f"sqlite:///{app_module / 'imported.db'}")
    try:
        assert [str(s.ref) for s in overriding.services()] == ["site1@Converter"]
        assert job_id in overriding.service("site1@Converter").jobs
        assert [str(s.ref) for s in imported.services()] == ["site1@Early"]
    finally:
        overriding.close()
        imported.close()
