"""The analyst console: server-rendered pages on the API's FastAPI app under /console."""

from daybreak.console.mount import configure_console, console_url, mount_console
from daybreak.console.routes import mount_static, router

__all__ = ["configure_console", "console_url", "mount_console", "mount_static", "router"]
