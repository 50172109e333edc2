"""The store's repositories: one object per kind of thing the store holds.

:class:`daybreak.store.TiplineStore` builds them over one :class:`StoreContext` (the
engines, the writer lock, the keys, the routing table) and hands them out as
``store.reports``, ``store.cases``, ``store.accounts``, ``store.api_keys``,
``store.sessions``, ``store.retention`` and ``store.audit``.
"""

from daybreak.store.repositories.context import PermissionDenied, StoreContext

__all__ = ["PermissionDenied", "StoreContext"]
