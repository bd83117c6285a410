"""A private PostgreSQL server for tests that stop it: the shared one stays up for everyone.

``initdb`` into a temporary directory owned by the ``postgres`` user, started
on a free port with its socket in that directory; ``stop`` and ``start``
really stop and start that server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql")


def _bin(name: str) -> str:
    found = sorted(BIN.glob(f"*/bin/{name}"))
    if not found:
        raise FileNotFoundError(name)
    return str(found[-1])


def available() -> bool:
    """Whether a private server can run here (PostgreSQL binaries, root, a postgres user)."""
    try:
        _bin("initdb")
    except FileNotFoundError:
        return False
    return os.geteuid() == 0 and shutil.which("runuser") is not None


class PrivateCluster:
    """One PostgreSQL server of our own; ``url`` reaches its ``postgres`` database."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rt_pg_"))
        self.data = self.root / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            _bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
            "-w", "start",
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self._as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
