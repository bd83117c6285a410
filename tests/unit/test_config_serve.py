"""The serve settings in Config: file, then REMOTETASK_* variables, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from remotetask.cli.local import is_loopback
from remotetask.config import Config, load_config
from remotetask.errors import ConfigError


def test_defaults_bind_loopback() -> None:
    config = Config()
    assert (config.host, config.port, config.max_body, config.max_wait) == (
        "127.0.0.1",
        8470,
        1024 * 1024,
        60.0,
    )


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "remotetask.toml"
    file.write_text('host = "0.0.0.0"\nport = 9000\nmax_body = 2048\n', encoding="utf-8")
    monkeypatch.setenv("REMOTETASK_PORT", "9100")
    monkeypatch.setenv("REMOTETASK_MAX_WAIT", "5.5")
    config = load_config(str(file), {"max_body": 4096})
    assert (config.host, config.port, config.max_body, config.max_wait) == (
        "0.0.0.0",
        9100,
        4096,
        5.5,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("REMOTETASK_PORT", "http"), ("REMOTETASK_PORT", "70000"), ("REMOTETASK_MAX_BODY", "0")],
)
def test_bad_values_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        load_config(None, {})


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False), ("::", False)],
)  # fmt: skip
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
