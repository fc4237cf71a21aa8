"""`pyodide.webloop`: Pyodide's event loop names. A worker here runs on asyncio's own loop;
`PyodideFuture` is an asyncio Future with the promise methods `then`/`catch`/`finally_`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["PyodideFuture", "PyodideTask", "WebLoop", "WebLoopPolicy"]


class PyodideFuture(asyncio.Future):  # type: ignore[type-arg]
    """An asyncio Future with the JavaScript promise methods Pyodide adds."""

    def then(
        self,
        onfulfilled: Callable[[Any], Any] | None,
        onrejected: Callable[[BaseException], Any] | None = None,
    ) -> PyodideFuture:
        result: PyodideFuture = PyodideFuture()

        def settle(done: asyncio.Future) -> None:  # type: ignore[type-arg]
            try:
                if done.cancelled():
                    result.cancel()
                elif done.exception() is not None:
                    error = done.exception()
                    if onrejected is None:
                        result.set_exception(error)  # type: ignore[arg-type]
                    else:
                        result.set_result(onrejected(error))  # type: ignore[arg-type]
                else:
                    value = done.result()
                    result.set_result(value if onfulfilled is None else onfulfilled(value))
            except BaseException as exc:  # a callback that raised rejects the new promise
                result.set_exception(exc)

        self.add_done_callback(settle)
        return result

    def catch(self, onrejected: Callable[[BaseException], Any]) -> PyodideFuture:
        return self.then(None, onrejected)

    def finally_(self, onfinally: Callable[[], Any]) -> PyodideFuture:
        def passthrough(value: Any) -> Any:
            onfinally()
            return value

        def rethrow(error: BaseException) -> Any:
            onfinally()
            raise error

        return self.then(passthrough, rethrow)


class PyodideTask(asyncio.Task, PyodideFuture):  # type: ignore[type-arg]
    """An asyncio Task that is also a `PyodideFuture`."""


class WebLoop(asyncio.SelectorEventLoop):
    """Pyodide's loop class. A worker here runs on asyncio's usual loop, which is not one of
    these: code that checks for a WebLoop keeps its plain-asyncio path."""


class WebLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """asyncio's default policy (Pyodide's installs a WebLoop)."""
