"""The management web UI: a Starlette app to mount next to the HTTP API.

    from remotetask.ui import create_ui_app, Principal
    ui = create_ui_app(app, verify_token, secret_key=key)
    api.mount("/ui", ui)

Needs the ``server`` extra (Starlette via FastAPI, Jinja2, python-multipart).
"""

from remotetask.auth import Principal, TokenVerifier
from remotetask.ui.app import create_ui_app

__all__ = ["Principal", "TokenVerifier", "create_ui_app"]
