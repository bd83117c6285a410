"""`remotetask serve` in a subprocess, driven by the client commands in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import remotetask
from remotetask.web.auth import CACHE_SECONDS

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "site1@Converter"


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    token: str | None
    env: dict[str, str]


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOTETASK_")}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        REMOTETASK_DATABASE=f"sqlite:///{tmp_path / 'cli.db'}",
    )
    return env


def start_server(tmp_path: Path, *extra: str) -> Server:
    env = base_env(tmp_path)
    command = [sys.executable, "-m", "remotetask", "serve", "--app", "examples.tasks:app"]
    command += ["--service", SERVICE, "--port", "0", "--grace", "5", *extra]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    token = None
    for line in process.stdout:
        if line.strip().startswith("rt_"):
            token = line.strip()
        if line.startswith("listening on "):
            url = line.removeprefix("listening on ").strip()
            break
    else:
        raise AssertionError(f"serve did not start: {process.communicate()[1]}")
    env.update(REMOTETASK_URL=url, REMOTETASK_SERVICE=SERVICE)
    if token:
        env["REMOTETASK_TOKEN"] = token
    return Server(process, url, token, env)


def stop_server(server: Server, signum: int = signal.SIGTERM) -> tuple[int, str]:
    server.process.send_signal(signum)
    _, err = server.process.communicate(timeout=30)
    return server.process.returncode, err


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    yield running
    if running.process.poll() is None:
        stop_server(running)


def cli(server: Server, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remotetask", *args],
        env={**server.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_client_commands_against_serve(server: Server) -> None:
    assert server.token is not None
    tasks = cli(server, "tasks", "--json")
    assert tasks.returncode == 0, tasks.stderr
    assert {"echo", "sleep", "fail", "convert"} <= {t["name"] for t in json.loads(tasks.stdout)}

    done = cli(server, "add", "echo", '{"a": 1}', "--wait", "--timeout", "30")
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.split()[0]
    assert done.stdout.split()[1] == "completed"
    assert json.loads(cli(server, "result", job_id).stdout) == {"a": 1}
    assert json.loads(cli(server, "status", job_id, "--json").stdout)["status"] == "completed"

    failed = cli(server, "add", "fail", '"boom"', "--wait", "--timeout", "30")
    assert failed.returncode == 1
    assert cli(server, "error", failed.stdout.split()[0]).stdout.strip() == "boom"
    assert cli(server, "retry", failed.stdout.split()[0]).returncode == 0

    slow = cli(server, "add", "sleep", '{"seconds": 0.5}').stdout.strip()
    watched = cli(server, "watch", slow, "--timeout", "30")
    assert watched.returncode == 0, watched.stderr
    assert "100%" in watched.stderr

    at_once = cli(server, "add", "echo", '"now"', "--delay", "0", "--wait", "--timeout", "30")
    assert (at_once.returncode, at_once.stdout.split()[1]) == (0, "completed")  # 0 is no delay

    parked = cli(server, "add", "echo", "--start-later").stdout.strip()
    assert cli(server, "status", parked).stdout.strip() == "start later"
    assert cli(server, "start", parked).returncode == 0
    assert cli(server, "start", parked).returncode == 1

    cron = cli(server, "cron", "add", "echo", '"tick"', "--minute", "0 30").stdout.strip()
    assert cli(server, "cron", "change", cron, "--hour", "2").returncode == 0
    listed = cli(server, "cron", "list")
    assert cron in listed.stdout
    assert "minute=0,30 hour=2" in listed.stdout
    updated = cli(server, "cron", "update", cron, "--minute", "*", "--json")  # every minute
    assert json.loads(updated.stdout)["schedule"]["minute"] == list(range(60))
    assert json.loads(updated.stdout)["schedule"]["hour"] == []  # update replaces it all
    bad = cli(server, "cron", "update", cron, "--minute", "*/5")
    assert bad.returncode == 2
    assert "Invalid value for --minute: minute: '*/5' is not a number" in bad.stderr
    assert cli(server, "cron", "update", cron).returncode == 2  # nothing given
    assert cli(server, "cancel", cron).returncode == 0

    table = cli(server, "jobs", "--status", "completed")
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "TASK", "STATUS"]
    assert job_id in table.stdout
    assert json.loads(cli(server, "clean", "--json").stdout)["count"] >= 2

    code, err = stop_server(server)
    assert code == 0, err


def test_exit_codes(server: Server) -> None:
    assert cli(server, "status", "1", REMOTETASK_TOKEN="rt_wrong").returncode == 1
    assert cli(server, "status", "1", REMOTETASK_URL="http://127.0.0.1:9").returncode == 3
    assert cli(server, "status", "1", REMOTETASK_SERVICE="no-at-sign").returncode == 2
    assert cli(server, "add", "echo", "{not json").returncode == 2
    assert cli(server, "status", "424242").returncode == 1
    with httpx.Client() as http:
        assert http.get(f"{server.url}/readyz").status_code == 200
        assert http.get(f"{server.url}/api/v1/tasks").status_code == 401


def test_typed_and_async_example_tasks(server: Server) -> None:
    tasks = {t["name"]: t for t in json.loads(cli(server, "tasks", "--json").stdout)}
    assert tasks["greet"]["input_schema"]["required"] == ["name"]
    assert tasks["greet"]["result_schema"] == {"items": {"type": "string"}, "type": "array"}
    assert tasks["echo"]["input_schema"] is None
    table = cli(server, "tasks").stdout.splitlines()
    assert table[0].split() == ["NAME", "INPUT", "DESCRIPTION"]
    assert any(line.split()[:2] == ["greet", "typed"] for line in table)

    refused = cli(server, "add", "greet", '{"name": "Ada", "times": "often"}')
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: the input of task 'greet' is not valid: times:")
    assert json.loads(cli(server, "jobs", "--json").stdout) == []

    greeted = cli(server, "add", "greet", '{"name": "Ada", "times": 2}', "--wait", "--json")
    assert greeted.returncode == 0, greeted.stderr
    assert json.loads(greeted.stdout)["result"] == ["Hello, Ada!", "Hello, Ada!"]
    counted = cli(server, "add", "countdown", "0.3", "--wait", "--timeout", "30", "--json")
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout)["result"] == "lift-off"


def test_tokens_and_the_insecure_switch(tmp_path: Path) -> None:
    env = base_env(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "remotetask", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    created = run("token", "create", "--name", "ci", "--role", "submit", "--site", "site1")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.splitlines()[-1]
    assert secret.startswith("rt_")
    listed = json.loads(run("token", "list", "--json").stdout)
    assert [(t["name"], t["role"], t["sites"]) for t in listed] == [("ci", "submit", ["site1"])]
    assert secret not in run("token", "list").stdout
    refused = run("serve", "--insecure-no-auth", "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 2
    assert "loopback" in refused.stderr

    server = start_server(tmp_path)
    assert server.token is None  # a token exists, so none is created
    try:
        with httpx.Client(headers={"Authorization": f"Bearer {secret}"}) as http:
            jobs = f"{server.url}/api/v1/services/{SERVICE}/jobs"
            assert http.post(jobs, json={"task": "echo"}).status_code == 201
            assert run("token", "revoke", str(listed[0]["id"])).returncode == 0
            # Another process revoked it: the server notices within its token cache time.
            deadline = time.monotonic() + CACHE_SECONDS + 2
            while http.get(jobs).status_code != 401:
                assert time.monotonic() < deadline, "the revoked token still works"
                time.sleep(0.1)
    finally:
        assert stop_server(server)[0] == 0
    open_server = start_server(tmp_path, "--insecure-no-auth")
    try:
        with httpx.Client() as http:
            assert http.get(f"{open_server.url}/api/v1/tasks").status_code == 200
    finally:
        assert stop_server(open_server)[0] == 0


def test_ctrl_c_lets_a_running_job_finish_and_logs_json(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--log-format", "json")
    jobs = f"{server.url}/api/v1/services/{SERVICE}/jobs"
    with httpx.Client(headers={"Authorization": f"Bearer {server.token}"}) as http:
        job = http.post(jobs, json={"task": "sleep", "input": {"seconds": 1}}).json()
        deadline = time.monotonic() + 30
        while http.get(f"{jobs}/{job['id']}").json()["status"] != "processing":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.01)
    code, err = stop_server(server, signal.SIGINT)
    assert code == 0, err
    app = remotetask.App(server.env["REMOTETASK_DATABASE"])
    try:
        assert app.service(SERVICE).status(job["id"]) == "completed"
    finally:
        app.close()
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    finished = [e for e in entries if e.get("job_id") == job["id"] and "outcome" in e]
    assert finished[0]["task"] == "sleep"
    assert finished[0]["service"] == SERVICE
    assert finished[0]["outcome"] == "completed"
