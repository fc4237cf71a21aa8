"""`env.AI`: the object a worker calls (`await env.AI.run(model, inputs, options)`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ..workers.jsdict import JsDict
from .catalogue import TASKS
from .errors import AiInternalError
from .runner import AiRunner
from .sdk import BindingBase

__all__ = ["Ai"]


class Ai(BindingBase):
    """`env.AI`: Cloudflare's `Ai` binding class.

    `await env.AI.run(model, inputs, options)`; inputs and options may also come as keyword
    arguments, which fold into the last object as Pyodide folds them
    (`run(model, prompt="hi")` is `run(model, {"prompt": "hi"})`).
    """

    _js_name = "Ai"

    def __init__(self, runner: AiRunner) -> None:
        self._runner = runner
        self.aiGatewayLogId: str | None = None
        self.lastRequestHttpStatusCode: int | None = None
        self.lastRequestInternalStatusCode: int | None = None

    @property
    def lastRequestId(self) -> str | None:
        return self._runner.last_request_id

    async def run(self, model: Any, inputs: Any = None, options: Any = None, **kwargs: Any) -> Any:
        if kwargs:
            if inputs is None:
                inputs = kwargs
            elif options is None:
                options = kwargs
            else:
                options = {**options, **kwargs}
        runner = self._runner
        if not isinstance(options, Mapping):
            options = {}  # null, undefined: no options
        try:
            result = await runner.run(model, inputs, options)
        except Exception as exc:
            self.lastRequestHttpStatusCode = getattr(exc, "status", None) or 500
            self.lastRequestInternalStatusCode = getattr(exc, "code", None)
            raise
        self.lastRequestHttpStatusCode = 200
        return result

    async def models(self, params: Any = None, **kwargs: Any) -> list[JsDict]:
        """The model catalogue, filtered as the search API filters it (`task`, `search`,
        `author`, `page`, `per_page`)."""
        query = {**(params or {}), **kwargs}
        found = []
        for model in self._runner.handle.models():
            task_name = TASKS.get(model.task, model.task)
            if query.get("task") and str(query["task"]).lower() not in (
                model.task,
                task_name.lower(),
            ):
                continue
            if query.get("search") and str(query["search"]).lower() not in model.name.lower():
                continue
            author = model.name.split("/")[1] if model.name.count("/") >= 2 else ""
            if query.get("author") and str(query["author"]).lower() != author.lower():
                continue
            found.append(
                JsDict(
                    id=str(uuid.uuid5(uuid.NAMESPACE_URL, model.name)),
                    source=1,
                    name=model.name,
                    description="",
                    task=JsDict(
                        id=str(uuid.uuid5(uuid.NAMESPACE_URL, model.task)),
                        name=task_name,
                        description="",
                    ),
                    tags=[],
                    properties=[],
                )
            )
        per_page = int(query.get("per_page") or len(found) or 1)
        page = max(1, int(query.get("page") or 1))
        return found[(page - 1) * per_page : page * per_page]

    def gateway(self, gateway_id: str, options: Any = None) -> Any:
        raise AiInternalError(
            f"pyflare does not emulate AI Gateway (env.AI.gateway({gateway_id!r}))"
        )

    def autorag(self, autorag_id: str | None = None) -> Any:
        raise AiInternalError("pyflare does not emulate AutoRAG (env.AI.autorag())")

    def aiSearch(self) -> Any:
        raise AiInternalError("pyflare does not emulate AI Search (env.AI.aiSearch())")

    def toMarkdown(self, *args: Any, **kwargs: Any) -> Any:
        raise AiInternalError("pyflare does not emulate Markdown conversion (env.AI.toMarkdown())")

    def __repr__(self) -> str:
        return f"<Ai backend={self._runner.backend.name}>"
