"""Wake-ups across processes for SQLite: a unix datagram socket per listening process.

SQLite has nothing like PostgreSQL's NOTIFY, so an idle worker in another process
would only see a new job on its next poll. Instead, each process that processes
jobs binds a datagram socket in a folder next to the database file
(``<database>-wake/``), and a commit that adds jobs sends the service reference
to every socket there: one ``sendto`` per listening process, a few microseconds.

It is only a hint, like NOTIFY: a datagram to a full buffer is dropped, a process
that binds after the send misses it, and platforms without unix sockets (or a
folder whose socket paths are too long) get none. Workers still poll, so a lost
wake-up costs latency, never a job. Sockets left by killed processes refuse the
send and are removed by the sender.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from remotetask.store.wakeups import Subscribers

log = logging.getLogger("remotetask")

RECEIVE_TIMEOUT_S = 0.5
"""How often the listening thread looks whether it was stopped."""
LOCK_NAME = "writer.lock"
"""The writers' lock file in the same folder (``sqlitelock``): not a listener."""
MAX_SOCKET_PATH = 100
"""Unix socket paths are limited to 104-108 bytes; longer folders get no wake-ups."""
SUPPORTED = hasattr(socket, "AF_UNIX")


def wake_folder(database: str) -> Path:
    """The folder of the listeners' sockets, beside the database like its ``-wal`` file."""
    return Path(f"{os.path.abspath(database)}-wake")


class Announcer:
    """Sends a service reference to every listening process of one database."""

    def __init__(self, database: str) -> None:
        self._folder = wake_folder(database)
        self._socket: socket.socket | None = None
        self.own: str | None = None
        """The name of this process's listening socket: it learns of its adds directly."""

    def announce(self, ref: str) -> None:
        """Wake the listeners (never raises: a failed wake-up only costs latency)."""
        try:
            names = os.listdir(self._folder)
        except OSError:
            return
        payload = ref.encode()
        for name in names:
            if name != self.own and name != LOCK_NAME:
                self._send(payload, name)

    def _send(self, payload: bytes, name: str) -> None:
        if self._socket is None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.setblocking(False)
        path = os.path.join(self._folder, name)
        try:
            self._socket.sendto(payload, path)
        except ConnectionRefusedError:  # nobody bound: its process is gone
            with contextlib.suppress(OSError):
                os.unlink(path)
        except OSError:  # a full buffer (the listener is awake anyway), or gone meanwhile
            pass

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class Listener:
    """A socket in the wake-up folder and a thread handing each payload to the callbacks."""

    def __init__(self, database: str) -> None:
        folder = wake_folder(database)
        self.name = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.path = str(folder / self.name)
        if len(self.path) > MAX_SOCKET_PATH:
            raise OSError(f"socket path too long: {self.path}")
        folder.mkdir(exist_ok=True)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._socket.bind(self.path)
        except OSError:
            self._socket.close()
            raise
        self._socket.settimeout(RECEIVE_TIMEOUT_S)
        self._subscribers = Subscribers()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="remotetask-wake", daemon=True)
        self._thread.start()

    def add(self, callback: Callable[[str], None]) -> None:
        self._subscribers.add(callback)

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as poke:
            poke.sendto(b"", self.path)  # ends the thread's wait now, not at its timeout
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        self._thread.join(RECEIVE_TIMEOUT_S * 4)
        self._socket.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                payload = self._socket.recv(512)
            except TimeoutError:
                continue
            except OSError:
                return
            if self._stop.is_set():
                return
            self._subscribers.deliver(payload.decode(errors="replace"))


def listen(database: str) -> Listener | None:
    """A listener on the database's wake-up folder, or None where there can be none."""
    if not SUPPORTED:
        return None
    try:
        return Listener(database)
    except OSError as exc:
        log.info("no cross-process wake-ups for %s (%s); workers poll", database, exc)
        return None
