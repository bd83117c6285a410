"""Settings of the example project: Django's tasks framework on remotetask.

``REMOTETASK_DATABASE`` names the remotetask database (a SQLite file beside
this project by default; ``postgresql://…`` for many workers).
"""

from __future__ import annotations

import os
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"

# Django 6.0 has the tasks framework built in; before, the django-tasks backport is an app.
INSTALLED_APPS = ["shop"] if django.VERSION >= (6, 0) else ["django_tasks", "shop"]

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "django.sqlite3"}
}

TASKS = {
    "default": {
        "BACKEND": "remotetask.contrib.django.RemoteTaskBackend",
        "QUEUES": ["default", "emails"],
        "OPTIONS": {
            "DATABASE": os.environ.get(
                "REMOTETASK_DATABASE", f"sqlite:///{BASE_DIR / 'remotetask.db'}"
            ),
            "AUTO_MIGRATE": True,
            "MAX_ATTEMPTS": 3,
        },
    }
}
