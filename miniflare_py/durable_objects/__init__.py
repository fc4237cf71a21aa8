"""Durable Objects (DESIGN.md section 10): namespaces, ids, stubs with RPC, storage (key-value and
SQL, one SQLite file per object), alarms on the runtime's clock, and WebSockets.

Importing this package stays cheap: `workers.DurableObject` comes from here.
"""

from .entrypoint import DurableObject

__all__ = ["DurableObject"]
