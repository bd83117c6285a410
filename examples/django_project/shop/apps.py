"""The example shop app: its tasks live in tasks.py, where the worker looks for them."""

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
