"""The shop's background work, written against Django's own tasks API.

On Django 6.0+ this would be ``from django.tasks import task``; the backport
spells it ``django_tasks``. Nothing here names remotetask: the settings do.
"""

from __future__ import annotations

import asyncio

try:
    from django.tasks import TaskContext, task
except ImportError:  # Django 5.2 with the django-tasks backport
    from django_tasks import TaskContext, task


@task
def order_total(prices: list[float], discount: float = 0.0) -> float:
    """Add up an order: a plain task with arguments."""
    return round(sum(prices) * (1 - discount), 2)


@task(queue_name="emails", takes_context=True)
def send_receipt(context: TaskContext, order_id: int, email: str) -> str:
    """Pretend to mail a receipt; the context tells which attempt this is."""
    if "@" not in email:
        raise ValueError(f"cannot mail {email!r}")
    return f"receipt for order {order_id} to {email} (attempt {context.attempt})"


@task
async def fetch_rate(currency: str) -> float:
    """Look an exchange rate up: an async task, run on an event loop by the worker."""
    await asyncio.sleep(0.01)
    return {"EUR": 1.0, "USD": 1.08}.get(currency, 0.0)
