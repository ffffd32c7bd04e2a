"""Wiring only: settings, URL routing, ASGI, Celery, embedded services."""

from pms_site.celery import app as celery_app

__all__ = ["celery_app"]
