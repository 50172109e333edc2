"""The durable, secure store: reports, clusters, cases, users, API keys and the audit log.

Construct one for a data dir with :meth:`TiplineStore.open`; see ``docs/tipline.md``.
"""

from daybreak.store.auth import SYSTEM, Actor, AuthError, Role
from daybreak.store.cases import (
    CaseFigures,
    CaseFilter,
    CasePage,
    Note,
    NotFound,
    StatusChange,
    WorkflowError,
)
from daybreak.store.keys import Keyring
from daybreak.store.reports import IdempotencyConflict, Receipt, StoredReport, Submission
from daybreak.store.store import ClusterSummary, PermissionDenied, SearchHit, TiplineStore
from daybreak.store.throttle import LoginGuard, LoginRefused

__all__ = [
    "SYSTEM",
    "Actor",
    "AuthError",
    "CaseFigures",
    "CaseFilter",
    "CasePage",
    "ClusterSummary",
    "IdempotencyConflict",
    "Keyring",
    "LoginGuard",
    "LoginRefused",
    "NotFound",
    "Note",
    "PermissionDenied",
    "Receipt",
    "Role",
    "SearchHit",
    "StatusChange",
    "StoredReport",
    "Submission",
    "TiplineStore",
    "WorkflowError",
]
