"""The REST API /api/v1/: thin DRF views over trading's selectors and the services of every app."""
