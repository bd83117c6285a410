"""Storage backends, chosen by database URL in one place."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from remotetask.errors import ConfigError
from remotetask.store.base import Claim, Finish, Inserted, NewJob, Store

__all__ = ["Claim", "Finish", "Inserted", "NewJob", "Store", "open_store"]


def open_store(url: str, *, auto_migrate: bool | None = None, verify: bool = True) -> Store:
    """Open the store a URL names: ``sqlite:///path``, ``sqlite://`` (memory), ``postgresql://``.

    ``auto_migrate`` defaults to True for SQLite (an embedded file just works)
    and False for PostgreSQL, where ``remotetask migrate`` is a deploy step.
    ``verify=False`` skips the schema check (for ``migrate`` itself).
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from remotetask.store.sqlite import SQLiteStore

        path = sqlite_path(url)
        migrate = True if auto_migrate is None else auto_migrate
        return SQLiteStore(path, auto_migrate=migrate, verify=verify)
    if scheme in ("postgresql", "postgres"):
        try:
            from remotetask.store.postgres import PostgresStore  # type: ignore[import-untyped,unused-ignore]
        except ImportError as exc:
            raise ConfigError(
                f"PostgreSQL needs the postgres extra: pip install 'remotetask[postgres]' ({exc})"
            ) from None
        store: Store = PostgresStore(url, auto_migrate=bool(auto_migrate), verify=verify)
        return store
    raise ConfigError(
        f"unsupported database URL {url!r}: use sqlite:///path, sqlite:// or postgresql://..."
    )


def sqlite_path(url: str) -> str | None:
    """The file path of a ``sqlite:`` URL, or None for the in-memory ``sqlite://``."""
    rest = url[len("sqlite:") :]
    if rest in ("", "//", "///:memory:", "//:memory:"):
        return None
    if not rest.startswith("///"):
        raise ConfigError(f"{url!r}: a SQLite URL is sqlite:///relative.db or sqlite:////abs.db")
    return unquote(rest[3:])
