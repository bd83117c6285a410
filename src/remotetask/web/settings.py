"""What the web layer needs to know beyond the App: limits and the auth switch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebSettings:
    """Limits and switches of one web app (``remotetask serve`` fills them from Config)."""

    max_body: int = 1024 * 1024
    """Largest request body in bytes; larger ones get 413 before more is read."""
    max_wait: float = 60.0
    """Cap on ``?wait=`` long-polls, in seconds."""
    auth: bool = True
    """False only for ``--insecure-no-auth`` on a loopback address."""
    autostart: tuple[str, ...] = ()
    """Directives of the services to process while the app runs (lifespan)."""
    shutdown_grace: float | None = None
    """Grace for running jobs at shutdown; None: the App's setting."""
    rate_limit: float = 500.0
    """Requests a second each token may make on average (0: no limit); 429 beyond."""
    rate_burst: float | None = None
    """Requests a token may make at once; None: twice ``rate_limit``."""
    max_waiters: int = 100
    """Long-polls (``?wait=``) each token may have waiting at once; 429 beyond."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names served besides loopback ones when ``auth`` is off (DNS rebinding guard)."""
    templates: str | None = None
    """A folder of UI templates searched before the built-in ones (``<task>_detail.html``)."""
