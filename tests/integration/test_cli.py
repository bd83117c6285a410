"""The command line, run as a user would: real subprocesses, real files, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import remotetask
from remotetask.store.migrate import latest_version
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


def remotetask_cmd(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remotetask", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def test_migrate_creates_then_reports_nothing_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    first = remotetask_cmd("migrate", "--database", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    latest = latest_version("sqlite")
    assert f"applied {latest} migration(s); schema version is {latest}" in first.stdout
    again = remotetask_cmd("migrate", cwd=tmp_path, env={"REMOTETASK_DATABASE": url})
    assert "applied 0 migration(s)" in again.stdout


def test_migrate_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "jobs.db").write_text("not a database")
    done = remotetask_cmd("migrate", "--database", "sqlite:///jobs.db", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert "not a database" in done.stderr
    assert (tmp_path / "jobs.db").read_text() == "not a database"


def test_configuration_mistakes_exit_2_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "remotetask.toml").write_text('threads = "many"\n')
    done = remotetask_cmd("worker", "--app", "examples.tasks:app", cwd=tmp_path)
    assert done.returncode == 2
    assert "threads must be a whole number" in done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bad_app = remotetask_cmd("worker", "--app", "no_such_module:app", cwd=elsewhere)
    assert bad_app.returncode == 2
    assert "cannot import 'no_such_module'" in bad_app.stderr


def test_worker_processes_jobs_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    producer = remotetask.App(url)
    producer.register("echo", lambda input: input)
    service = producer.add_service("site1@Converter")
    jobid = service.add("echo", {"hello": "world"})

    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "remotetask",
            "worker",
            "--app",
            "examples.tasks:app",
            "--database",
            url,
            "--autostart",
            "site1@*",
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: service.status(jobid) == "completed", timeout=30)
        assert service.result(jobid) == {"hello": "world"}
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr
    assert time.monotonic() - started < 10
    assert "service Converter on site site1 started" in stderr
    assert "received SIGTERM, stopping" in stderr
    producer.close()


def test_worker_reads_remotetask_toml(tmp_path: Path) -> None:
    (tmp_path / "remotetask.toml").write_text(
        'database = "sqlite:///from_toml.db"\n'
        'tasks = ["examples.tasks"]\n'
        'services = ["@Root"]\n'
        'autostart = ["@Root"]\n'
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "remotetask", "worker"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        wait_until(lambda: (tmp_path / "from_toml.db").exists(), timeout=30)
        app = remotetask.App(f"sqlite:///{tmp_path / 'from_toml.db'}")
        app.register("echo", lambda input: input)
        wait_until(lambda: [str(s.ref) for s in app.services()] == ["@Root"], timeout=30)
        jobid = app.service("@Root").add("echo", 42)
        wait_until(lambda: app.service("@Root").status(jobid) == "completed", timeout=30)
        worker.send_signal(signal.SIGINT)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr
    assert "service Root on site root started" in stderr
    app.close()


def test_every_command_uses_the_configured_apps_database(tmp_path: Path) -> None:
    """With ``app`` in remotetask.toml and no ``database``, migrate and token use the App's."""
    (tmp_path / "proj.py").write_text(
        'import remotetask\napp = remotetask.App("sqlite:///app.db")\n'
    )
    (tmp_path / "remotetask.toml").write_text('app = "proj:app"\n')
    env = {"PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}"}
    migrated = remotetask_cmd("migrate", cwd=tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    created = remotetask_cmd("token", "create", "--name", "ci", cwd=tmp_path, env=env)
    assert created.returncode == 0, created.stderr
    assert not (tmp_path / "remotetask.db").exists()
    app = remotetask.App(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        assert [token.name for token in app.tokens.list()] == ["ci"]
    finally:
        app.close()
