"""The management web UI: a Starlette app to mount next to the HTTP API.

    from remotetask.ui import create_ui_app, Principal
    ui = create_ui_app(app, verify_token, secret_key=key)
    api.mount("/ui", ui)

Needs the ``server`` extra (Starlette via FastAPI, Jinja2, python-multipart).
"""

from remotetask.ui.app import create_ui_app
from remotetask.ui.auth import ROLES, Principal, TokenVerifier

__all__ = ["ROLES", "Principal", "TokenVerifier", "create_ui_app"]
