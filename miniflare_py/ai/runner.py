"""One `env.AI.run(model, inputs, options)` call, from the model's name to the answer.

The order is the service's: the model must exist (5007), the inputs must match its schema
(5006); then the call takes its latency (a test setting), may fail as a test asked, and is
answered by a canned answer or the backend; every call lands in the log with its outcome.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from ..logs import log_fast
from ..workers.jsdict import JsDict
from .catalogue import ModelInfo
from .conversation import read_conversation, text_shape
from .errors import AiInternalError, bad_input, no_such_model
from .generation import Generation, count_tokens, digest
from .handle import AiCall, AiHandle
from .schemas import schema_for
from .sdk import byte_stream, is_stream
from .shapes import stream_events, whole
from .validation import check

__all__ = ["TEXT_FAMILIES", "AiRunner", "jsify"]

logger = logging.getLogger("miniflare_py.ai")

TEXT_FAMILIES = frozenset({"classic", "chat", "gpt-oss", "guard"})
_EVENT_STREAM = "text/event-stream"


def jsify(value: Any) -> Any:
    """JSON-like data as a Python Worker sees a JavaScript result: objects are `JsDict`s (keys
    read as items or attributes), recursively; lists of plain values are left as they are.
    A `JsDict` is taken as converted already."""
    if type(value) is JsDict:
        return value
    if isinstance(value, dict):
        return JsDict({k: jsify(v) for k, v in value.items()})
    if isinstance(value, list) and value and isinstance(value[0], dict | list):
        return [jsify(v) for v in value]
    return value


class AiRunner:
    """Runs calls for one binding: `handle` holds the test controls and the log, `backend`
    answers, `now` and `sleep` are the runtime clock."""

    def __init__(
        self,
        handle: AiHandle,
        backend: Any,
        now: Callable[[], float],
        sleep: Callable[[float], Any],
    ) -> None:
        self.handle = handle
        self.backend = backend
        self.now = now
        self.sleep = sleep
        self._requests = 0
        self._request_base = uuid.uuid4().int >> 64 << 64

    @property
    def last_request_id(self) -> str | None:
        """The id of the last request (`env.AI.lastRequestId`), made when asked."""
        if not self._requests:
            return None
        return str(uuid.UUID(int=self._request_base | self._requests))

    async def run(self, model: Any, inputs: Any, options: Mapping[str, Any]) -> Any:
        name = model if isinstance(model, str) else str(model)
        handle = self.handle
        call = handle.begin(name, inputs, options, self.now())
        self._requests += 1
        try:
            result = await self._answer(name, inputs, options, call)
        except BaseException as exc:
            self._finish(call, exc)
            raise
        call.output = result
        self._finish(call, None)
        return result

    def _finish(self, call: AiCall, error: BaseException | None) -> None:
        call.duration = self.now() - call.started
        ms = call.duration * 1000
        if error is None:
            call.outcome = "ok"
            # Every call is in `mf.ai.calls`; the engine log (and so `pyflare dev`'s console
            # and failure reports) gets the failures, and the rest only at DEBUG: a test may
            # make thousands of calls.
            log_fast(logger, logging.DEBUG, "AI %s ok (%dms)", call.model, ms)
            return
        call.outcome = "error"
        call.error = str(error) if str(error) else type(error).__name__
        self.handle.failed += 1
        log_fast(logger, logging.INFO, "AI %s failed: %s (%dms)", call.model, call.error, ms)

    async def _answer(
        self, name: str, inputs: Any, options: Mapping[str, Any], call: AiCall
    ) -> Any:
        handle = self.handle
        info = handle.model(name)
        if info is None:
            raise no_such_model(name)
        if options.get("websocket"):
            raise AiInternalError("pyflare does not emulate Workers AI over WebSockets")
        given: Any = {} if inputs is None else inputs
        schema = schema_for(info)
        if schema is not None:
            problem = check(schema, given)
            if problem is not None:
                raise bad_input(problem)
        if options.get("queueRequest") or (isinstance(given, Mapping) and "requests" in given):
            raise AiInternalError(
                "pyflare does not emulate the Workers AI batch API (queueRequest, requests)"
            )
        stream = isinstance(given, Mapping) and given.get("stream") is True
        call.stream = stream
        delay = handle.delay(name)
        if delay > 0:
            await self.sleep(delay)
        failure = handle.take_failure(name)
        if failure is not None:
            raise failure
        canned, output = handle.take_canned(name)
        if canned:
            call.answered_by = "respond"
            result = await self._canned(info, given, output, stream)
        else:
            call.answered_by = self.backend.answerer(info)
            result = await self._backend(info, given, stream, call)
        if options.get("returnRawResponse"):
            return _raw_response(result, _EVENT_STREAM if stream else _media_type(info))
        return result

    async def _backend(self, info: ModelInfo, inputs: Any, stream: bool, call: AiCall) -> Any:
        if info.family in TEXT_FAMILIES:
            conversation = read_conversation(info, inputs)
            shape = conversation.shape
            now = int(self.now())
            if stream and shape != "guard":
                chunk_id = digest(f"{info.name}\x1f{conversation.key}").hex()[:24]
                pieces = self.backend.stream(info, conversation)
                events = stream_events(shape, pieces, info.name, now, chunk_id)
                # The first event is awaited here: a backend that cannot answer fails the run,
                # as the binding fails on the service's status before it hands out the body.
                first = await anext(events)
                return await byte_stream(self._watched(_prepend(first, events), call))
            generation = await self.backend.generate(info, conversation)
            return jsify(whole(shape, generation, info.name, now))
        answer = await self.backend.answer(info, inputs)
        if isinstance(answer, bytes):
            return await byte_stream(_once(answer))
        return jsify(answer)

    async def _watched(self, events: AsyncIterator[bytes], call: AiCall) -> AsyncIterator[bytes]:
        """`events`, marking the call failed if the stream breaks while the worker reads it."""
        try:
            async for event in events:
                yield event
        except Exception as exc:
            if call.outcome == "ok":
                self.handle.failed += 1
            call.outcome = "error"
            call.error = str(exc) or type(exc).__name__
            raise

    async def _canned(self, info: ModelInfo, inputs: Any, output: Any, stream: bool) -> Any:
        if callable(output) and not isinstance(output, type):
            output = output(inputs)
            if inspect.isawaitable(output):
                output = await output
        if isinstance(output, BaseException) or (
            isinstance(output, type) and issubclass(output, BaseException)
        ):
            raise output
        if isinstance(output, bytes):
            return await byte_stream(_once(output))
        if info.family in TEXT_FAMILIES and isinstance(output, str):
            conversation = read_conversation(info, inputs)
            generation = Generation(
                output,
                count_tokens(conversation.prompt_text),
                len(output.split()),
                id=digest(output).hex(),
            )
            shape = text_shape(info, inputs)
            now = int(self.now())
            if stream and shape != "guard":
                events = stream_events(
                    shape, _pieces(generation), info.name, now, generation.id[:24]
                )
                return await byte_stream(events)
            return jsify(whole(shape, generation, info.name, now))
        return jsify(copy_output(output))


def copy_output(output: Any) -> Any:
    """A fresh copy of canned data, so a worker that changes its answer changes no other."""
    if isinstance(output, dict):
        return {k: copy_output(v) for k, v in output.items()}
    if isinstance(output, list):
        return [copy_output(v) for v in output]
    return output


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for item in rest:
        yield item


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _pieces(generation: Generation) -> AsyncIterator[str | Generation]:
    for piece in generation.pieces():
        yield piece
    yield generation


def _media_type(info: ModelInfo) -> str:
    return "image/png" if info.task == "text-to-image" else "application/octet-stream"


def _raw_response(result: Any, stream_type: str) -> Any:
    """`returnRawResponse: true`: the service's HTTP response instead of its parsed body."""
    import json

    from ..workers import Response

    if is_stream(result):
        return Response(result, headers={"content-type": stream_type})
    body = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return Response(body, headers={"content-type": "application/json"})
