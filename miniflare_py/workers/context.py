"""Where the engine is running: inside a worker handler or in the caller's own code."""

from __future__ import annotations

from contextvars import ContextVar

#: True while a worker handler (fetch, queue, scheduled) runs. The runtime sets it; the queue
#: producer reads it to decide whether a send from test code should settle due work at once.
inside_handler: ContextVar[bool] = ContextVar("inside_handler", default=False)
