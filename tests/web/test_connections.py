"""Idle and slow connections are closed, and too many get a polite 503 (issue 10, item 1).

A real ``remotetask serve`` process with a small descriptor limit (256) and a
one-second read timeout, driven by raw sockets that send nothing, half a
header or half a body, and by more connections than it has descriptors.
"""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from remotetask.web.connections import connection_cap, raise_descriptor_limit
from tests.web.test_cli import SERVICE, Server, base_env, stop_server

DESCRIPTORS = 256


def _small_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTORS, DESCRIPTORS))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {**base_env(tmp_path), "REMOTETASK_READ_TIMEOUT": "1"}
    command = [sys.executable, "-m", "remotetask", "serve", "--app", "examples.tasks:app"]
    command += ["--service", SERVICE, "--port", "0", "--insecure-no-auth"]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_small_limit,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("listening on "):
            url = line.removeprefix("listening on ").strip()
            break
    else:
        raise AssertionError(f"serve did not start: {process.communicate()[1]}")
    running = Server(process, url, None, env)
    yield running
    if process.poll() is None:
        stop_server(running)


def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes the connection (reading whatever it says first)."""
    started = time.monotonic()
    while sock.recv(4096):
        pass
    return time.monotonic() - started


def test_a_silent_a_half_header_and_a_half_body_connection_are_closed(server: Server) -> None:
    silent = connect(server)
    half_header = connect(server)
    half_header.sendall(b"GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    half_body = connect(server)
    half_body.sendall(
        b"POST /api/v1/services/site1@Converter/jobs HTTP/1.1\r\nHost: localhost\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"task":'
    )
    try:
        assert closed_after(silent) < 3
        assert closed_after(half_header) < 3
        assert closed_after(half_body) < 5
    finally:
        for sock in (silent, half_header, half_body):
            sock.close()
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/livez").status_code == 200


def test_more_connections_than_descriptors_are_refused_politely(server: Server) -> None:
    held = []
    for _ in range(2 * DESCRIPTORS):
        try:
            held.append(connect(server))
        except OSError:
            break
    try:
        refused = sum(_refused(sock) for sock in held)
        assert refused > 0
        _livez_answers_again(server)
    finally:
        for sock in held:
            sock.close()
    assert server.process.poll() is None


def _refused(sock: socket.socket) -> bool:
    sock.settimeout(0.2)
    try:
        return sock.recv(4096).startswith(b"HTTP/1.1 503")
    except (TimeoutError, ConnectionError):
        return False


def _livez_answers_again(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        deadline = time.monotonic() + 5
        while True:  # the idle ones are closed after the read timeout; then it answers
            try:
                if http.get("/livez", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "/livez did not answer again"
            time.sleep(0.2)


def test_the_connection_cap_fits_the_descriptors() -> None:
    assert raise_descriptor_limit() >= resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert connection_cap(1024) == 480
    assert connection_cap(100_000) == 1000
    assert connection_cap(100_000, 50) == 50
    assert connection_cap(10) == 16
