"""A backend for Django's tasks framework: ``remotetask.contrib.django.RemoteTaskBackend``.

It serves ``django.tasks`` (Django 6.0+) and the ``django-tasks`` backport
(``django_tasks``) alike. Workers run the tasks with

    DJANGO_SETTINGS_MODULE=mysite.settings remotetask worker --app remotetask.contrib.django:app

``app`` sets Django up, imports every installed app's ``tasks`` module (and the
backend's ``MODULES``), creates the services of the backend's queues and returns
the backend's remotetask App. ``REMOTETASK_DJANGO_BACKEND`` names the backend
alias (default ``default``). See docs/django.md.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from remotetask.app import App
from remotetask.contrib.django.backend import RemoteTaskBackend, close_apps
from remotetask.errors import ConfigError

__all__ = ["RemoteTaskBackend", "close_apps", "worker_app"]


def worker_app(alias: str | None = None) -> App:
    """The App a worker runs for the Django project of ``DJANGO_SETTINGS_MODULE``."""
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import autodiscover_modules

    from remotetask.contrib.django.framework import task_backends

    chosen = alias or os.environ.get("REMOTETASK_DJANGO_BACKEND", "default")
    try:
        django.setup()
        backend = task_backends[chosen]
    except ImproperlyConfigured as exc:
        raise ConfigError(f"Django is not configured (DJANGO_SETTINGS_MODULE?): {exc}") from None
    if not isinstance(backend, RemoteTaskBackend):
        raise ConfigError(f"the task backend {chosen!r} is a {type(backend).__name__}")
    autodiscover_modules("tasks")
    for module in backend.modules:
        importlib.import_module(module)
    for queue in sorted(backend.queues) or ["default"]:
        backend.service(queue)
    return backend.app


def __getattr__(name: str) -> Any:
    """``remotetask.contrib.django:app`` (for ``--app``) is built when first asked for."""
    if name == "app":
        return worker_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
