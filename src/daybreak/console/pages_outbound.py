"""The "Deliveries" page: webhook deliveries of the signed-in manager's organisation that
failed every retry (``daybreak stream relay``'s dead-letter list). It shows where each
event went and why it failed, never the event's body; sending them again is
``daybreak stream redeliver`` once the receiver is fixed (docs/operations.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from daybreak.console.web import render, require_manager, signed_in, state_of

router = APIRouter()


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries_page(request: Request) -> Response:
    user = signed_in(request).user
    require_manager(user)
    failures = state_of(request).backend.delivery_failures(user)
    return render(request, "deliveries.html", {"failures": failures, "nav": "deliveries"})
