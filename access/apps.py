"""Django app config for access: API keys and the permission rules of the API and pages."""

from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from access import (
            schema,  # noqa: F401 - registers the API-key scheme with drf-spectacular
            signals,
        )

        signals.connect()
