"""The HTTP API (FastAPI): tipline intake, cases, auth, media routes and the console."""

from daybreak.api.app import create_app, open_store
from daybreak.api.settings import Settings

__all__ = ["Settings", "create_app", "open_store"]
