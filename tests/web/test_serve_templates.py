"""`remotetask serve` finds per-task detail renderers through a setting (issue 11, item 9)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import remotetask

ROOT = Path(__file__).resolve().parents[2]
TASKS = """
import remotetask
app = remotetask.App()

@app.task
def convert(input):
    return "done"
"""


@pytest.mark.parametrize("how", ["toml", "flag"])
def test_serve_uses_the_configured_templates_folder(tmp_path: Path, how: str) -> None:
    (tmp_path / "mytasks.py").write_text(TASKS, encoding="utf-8")
    folder = tmp_path / "ui-templates"
    folder.mkdir()
    (folder / "convert_detail.html").write_text(
        '<span class="mine">Converting {{ job.input.file }}</span>', encoding="utf-8"
    )
    extra = ["--templates", str(folder)]
    if how == "toml":
        (tmp_path / "remotetask.toml").write_text('templates = "ui-templates"\n', encoding="utf-8")
        extra = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOTETASK_")}
    env.update(PYTHONPATH=str(ROOT / "src"), PYTHONUNBUFFERED="1")
    command = [
        sys.executable, "-m", "remotetask", "serve", "--app", "mytasks:app",
        "--database", f"sqlite:///{tmp_path / 'jobs.db'}", "--service", "site1@S",
        "--port", "0", *extra,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        token = url = ""
        for line in process.stdout:
            if line.strip().startswith("rt_"):
                token = line.strip()
            if line.startswith("listening on "):
                url = line.removeprefix("listening on ").strip()
                break
        assert url
        assert token
        with remotetask.Client(url, token) as client:
            job_id = client.service("site1@S").add("convert", {"file": "holiday.mov"})
        with httpx.Client(base_url=url) as http:
            page = http.get("/ui/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            http.post("/ui/login", data={"csrf": csrf.group(1), "token": token})
            jobs = http.get("/ui/services/site1@S/jobs")
        assert f'id="job-{job_id}"' in jobs.text
        assert '<span class="mine">Converting holiday.mov</span>' in jobs.text
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
