"""The responder's side of PSI abuse: bounded, logged, never replayed requests.

PSI stops members testing guesses *offline*, but a requester learns which of the values
it *requested* the responder holds; a request stuffed with a block of phone numbers is
a dictionary attack run online. The responder therefore answers at most
``max_request`` identifiers per request and ``max_per_day`` per peer in any 24 hours,
answers a session once, and writes every answer and refusal to a JSON-lines log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from daybreak.sharing.canonical import ShareError
from daybreak.sharing.psi import Request

DAY = timedelta(hours=24)


class Refused(ShareError):
    """A request the responder's limits do not allow; the message says which limit."""


@dataclass(frozen=True)
class Limits:
    max_request: int = 10_000  # identifiers in one request
    max_per_day: int = 10_000  # identifiers answered to one peer in any 24 hours


def read_log(path: Path) -> list[dict[str, Any]]:
    """The log's entries; a missing log is an empty one, a damaged one is an error."""
    if not path.exists():
        return []
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
            at = datetime.fromisoformat(entry["at"])
            ok = isinstance(entry["peer"], str) and isinstance(entry["count"], int)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ShareError(
                f"{path}: line {n}: expected a PSI log entry with 'at', 'peer', 'count' ({exc})"
            ) from exc
        if not ok or at.tzinfo is None:
            raise ShareError(f"{path}: line {n}: 'peer' must be text, 'count' a number, 'at' zoned")
        entries.append(entry)
    return entries


def check(
    log: list[dict[str, Any]], request: Request, peer: str, limits: Limits, now: datetime
) -> None:
    """Raise :class:`Refused` if answering ``request`` from ``peer`` breaks a limit."""
    answered = [e for e in log if e.get("outcome") == "answered"]
    if any(e.get("session") == request.session for e in answered):
        raise Refused(f"session {request.session} was already answered; a request is answered once")
    n = len(request.values)
    if n > limits.max_request:
        raise Refused(f"the request has {n} identifiers; at most {limits.max_request} are answered")
    recent = sum(
        e["count"] for e in answered
        if e["peer"] == peer and now - datetime.fromisoformat(e["at"]) < DAY
    )  # fmt: skip
    if recent + n > limits.max_per_day:
        raise Refused(
            f"{peer!r} was answered for {recent} identifiers in the last 24 hours; "
            f"{n} more would pass the limit of {limits.max_per_day}"
        )


def record(
    path: Path, request: Request, peer: str, outcome: str, now: datetime, own: int | None = None
) -> None:
    """Append one entry: who asked, when, how many, in which mode, and what was done."""
    entry = {
        "at": now.isoformat(timespec="seconds"),
        "peer": peer,
        "requester_group": request.group,
        "session": request.session,
        "mode": request.mode.value,
        "count": len(request.values),
        "own": own,
        "outcome": outcome,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
