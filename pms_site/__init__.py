"""Wiring only: settings, URL routing, ASGI, Celery, embedded services."""
