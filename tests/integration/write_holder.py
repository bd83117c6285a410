"""A process holding a write transaction of a SQLite file until told to end it.

Usage: python -m tests.integration.write_holder DATABASE_PATH
Prints "holding" once inside the transaction, and commits when a line arrives on stdin.
"""

from __future__ import annotations

import sys

from remotetask.store.sqlite import SQLiteStore


def main(path: str) -> None:
    store = SQLiteStore(path)
    with store._tx(write=True):
        print("holding", flush=True)
        sys.stdin.readline()
    store.close()


if __name__ == "__main__":
    main(sys.argv[1])
