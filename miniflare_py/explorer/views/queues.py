"""Queues in the Local Explorer: depth, rates and dead letters per queue, the messages held
(bodies shown literally), pause/resume, purge, redrive from a dead letter queue, and a test
message sent as a worker sends one.

Cloudflare's Local Explorer has no Queues page; the paths follow Cloudflare's Queues API
(`/queues`, `/queues/{queue}` with `settings.delivery_paused`, `/queues/{queue}/messages`,
`/queues/{queue}/purge`) where it has one, and add `/messages` listing and `/redrive`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from starlette.requests import Request

from ...queues.errors import QueueSendError
from ...queues.metrics import COUNTER_FIELDS, RATE_FIELDS, STATE_FIELDS
from ..endpoints import ApiError, Endpoint, Param, Result, field_of, json_body, query_int
from ..schema import ANY, BOOL, INT, NUM, STR, arr, enum, nullable, obj, ref
from ..trace import Traced, Tracer
from ..values import literal_body
from .base import BindingView

__all__ = ["QueuesView"]

CONTENT_TYPES = ("json", "text", "bytes", "v8")

_STATS = obj(
    {
        **{k: INT for k in STATE_FIELDS},
        **{k: INT for k in COUNTER_FIELDS},
        **{k: NUM for k in RATE_FIELDS},
    }
)
_QUEUE = obj(
    {
        "queue_id": STR,
        "queue_name": STR,
        "consumer": nullable(
            obj(
                {
                    "max_batch_size": INT,
                    "max_batch_timeout": NUM,
                    "max_retries": INT,
                    "retry_delay": INT,
                    "max_concurrency": INT,
                    "dead_letter_queue": nullable(STR),
                }
            )
        ),
        "producers": arr(STR),
        "settings": obj({"delivery_paused": BOOL}),
        "dead_letter_queue": nullable(STR),
        "dead_letter_sources": arr(STR),
        "depth": INT,
        "dlq_depth": nullable(INT),
        "stats": _STATS,
    }
)
_MESSAGE = obj(
    {
        "id": STR,
        "state": enum("in_flight", "pending", "delayed"),
        "attempts": INT,
        "timestamp": STR,
        "timestamp_ms": NUM,
        "next_delivery": nullable(STR),
        "content_type": enum(*CONTENT_TYPES),
        "size": INT,
        "body": obj({"text": STR, "json": ANY}, required=("text",)),
    }
)
_NAME = "{queue_name}"
_IDS = {"message_ids": arr(STR, description="only these messages (default: all that wait)")}


def _producer(tracer: Tracer, producer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    queue = getattr(producer, "queue", "?")
    return tracer.binding_of(lambda v: v is producer, queue), f"queue {queue}"


def _message(tracer: Tracer, message: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return "message", getattr(message, "id", "")


def _batch(tracer: Tracer, batch: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return "batch", getattr(batch, "queue", "")


class QueuesView(BindingView):
    title = "Queues"
    schemas: ClassVar[dict[str, Any]] = {"Queue": _QUEUE, "QueueMessage": _MESSAGE}
    traced = (
        Traced("miniflare_py.queues.producer:QueueProducer", "send", _producer),
        Traced("miniflare_py.queues.producer:QueueProducer", "sendBatch", _producer),
        Traced("miniflare_py.queues.message:Message", "ack", _message),
        Traced("miniflare_py.queues.message:Message", "retry", _message),
        Traced("miniflare_py.queues.message:MessageBatch", "ackAll", _batch),
        Traced("miniflare_py.queues.message:MessageBatch", "retryAll", _batch),
    )
    endpoints = (
        Endpoint(
            "GET", "/queues", "list_queues", "List queues", "queues-list",
            description="Every queue the worker produces to or consumes, with its depth, "
            "counters, rates and dead letter queue.",
            result=arr(ref("Queue")), errors=(),
        ),
        Endpoint(
            "GET", f"/queues/{_NAME}", "get_queue", "Queue details", "queues-get",
            result=ref("Queue"), errors=(404,),
        ),
        Endpoint(
            "PATCH", f"/queues/{_NAME}", "update_queue", "Pause or resume delivery",
            "queues-update",
            description="`settings.delivery_paused`: true stops starting batches (messages "
            "keep arriving and wait), false delivers again.",
            body=obj({"settings": obj({"delivery_paused": BOOL})}), result=ref("Queue"),
        ),
        Endpoint(
            "GET", f"/queues/{_NAME}/messages", "list_messages", "List messages",
            "queues-list-messages",
            description="The messages held, in delivery order (in flight, pending, delayed), "
            "bodies shown literally.",
            params=(
                Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                Param("offset", {"type": "integer", "minimum": 0}),
            ),
            result=arr(ref("QueueMessage")),
            result_info=obj({"count": INT, "total": INT, "offset": INT}),
        ),
        Endpoint(
            "POST", f"/queues/{_NAME}/messages", "send_message", "Send a message",
            "queues-send-message",
            description="Sends as a worker's `send()` does (same checks and limits). "
            "`content_type` json (default) sends `body` as is; text needs a string; bytes "
            "sends the UTF-8 of a string; v8 sends the JSON value as a structured clone.",
            body=obj(
                {
                    "body": ANY,
                    "content_type": enum(*CONTENT_TYPES),
                    "delay_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
                },
                required=("body",),
            ),
            result=obj({"backlog_count": INT, "backlog_bytes": INT}),
        ),
        Endpoint(
            "POST", f"/queues/{_NAME}/purge", "purge", "Purge messages", "queues-purge",
            description="Deletes the messages that wait (pending and delayed); a batch in "
            "flight finishes.",
            body=obj(_IDS, required=()), body_required=False,
            result=obj({"purged": INT}),
        ),
        Endpoint(
            "POST", f"/queues/{_NAME}/redrive", "redrive", "Redrive dead letters",
            "queues-redrive",
            description="Moves messages of a dead letter queue back to its source queue (the "
            "queue whose consumer names it as `dead_letter_queue`, or `to`): same id, body and "
            "timestamp, deliverable now, attempts counted from 1 again.",
            body=obj({**_IDS, "to": STR}, required=()), body_required=False,
            result=obj({"redriven": INT, "to": STR}),
        ),
    )  # fmt: skip

    # -- reading ---------------------------------------------------------------------------------

    @property
    def _queues(self) -> Any:
        if self.instance is None:
            raise ApiError(404, "this worker has no queues")
        return self.instance.queues  # type: ignore[attr-defined]

    def _handle(self, name: str) -> Any:
        queues = self._queues
        if name not in queues:
            raise self.not_found("queue", name, sorted(queues))
        return queues[name]

    def summary(self) -> list[dict[str, Any]]:
        if self.instance is None:
            return []
        return [{"id": name, "name": name} for name in self._queues]

    def queue(self, name: str) -> dict[str, Any]:
        handle = self._handle(name)
        section = self.instance.section  # type: ignore[union-attr]
        consumer = next((c for c in section.consumers if c.queue == name), None)
        stats = handle.stats()
        dlq = stats.get("dlq")
        dlq_depth = None
        if dlq is not None and dlq in self._queues:
            d = self._queues[dlq].stats()
            dlq_depth = d["pending"] + d["delayed"] + d["in_flight"]
        return {
            "queue_id": name,
            "queue_name": name,
            "consumer": None
            if consumer is None
            else {
                "max_batch_size": consumer.max_batch_size,
                "max_batch_timeout": consumer.max_batch_timeout,
                "max_retries": consumer.max_retries,
                "retry_delay": consumer.retry_delay,
                "max_concurrency": consumer.max_concurrency or 1,
                "dead_letter_queue": consumer.dead_letter_queue,
            },
            "producers": [p.binding for p in section.producers if p.queue == name],
            "settings": {"delivery_paused": handle.paused},
            "dead_letter_queue": dlq,
            "dead_letter_sources": handle.dead_letter_sources,
            "depth": stats["pending"] + stats["delayed"] + stats["in_flight"],
            "dlq_depth": dlq_depth,
            "stats": {k: stats[k] for k in (*STATE_FIELDS, *COUNTER_FIELDS, *RATE_FIELDS)},
        }

    def all_queues(self) -> list[dict[str, Any]]:
        if self.instance is None:
            return []
        return [self.queue(name) for name in self._queues]

    def live(self) -> Any:
        return self.all_queues() or None

    async def list_queues(self, request: Request) -> Any:
        return self.all_queues()

    async def get_queue(self, request: Request) -> Any:
        return self.queue(request.path_params["queue_name"])

    async def list_messages(self, request: Request) -> Any:
        name = request.path_params["queue_name"]
        handle = self._handle(name)
        limit = query_int(request, "limit", 100, low=1, high=1000)
        offset = query_int(request, "offset", 0)
        messages = handle.messages()
        page = messages[offset : offset + limit]
        return Result(
            [_message_json(m) for m in page],
            {"count": len(page), "total": len(messages), "offset": offset},
        )

    # -- steering --------------------------------------------------------------------------------

    async def update_queue(self, request: Request) -> Any:
        name = request.path_params["queue_name"]
        handle = self._handle(name)
        settings = field_of(await json_body(request), "settings", dict)
        paused = field_of(settings, "delivery_paused", bool)
        handle.pause() if paused else handle.resume()
        return self.queue(name)

    async def send_message(self, request: Request) -> Any:
        name = request.path_params["queue_name"]
        self._handle(name)
        body = await json_body(request)
        if not isinstance(body, dict) or "body" not in body:
            raise ApiError(400, "body is required (the message body, any JSON value)")
        content_type = field_of(body, "content_type", str, "json")
        if content_type not in CONTENT_TYPES:
            raise ApiError(400, f"content_type must be one of {', '.join(CONTENT_TYPES)}")
        delay = field_of(body, "delay_seconds", int, None)
        value = body["body"]
        if content_type == "bytes":
            if not isinstance(value, str):
                raise ApiError(400, "a bytes message takes a string body (sent as its UTF-8)")
            value = value.encode("utf-8", "surrogatepass")
        producer = self.instance.broker.producer(name)  # type: ignore[union-attr]
        try:
            sent = await producer.send(value, contentType=content_type, delaySeconds=delay)
        except QueueSendError as exc:  # the producer's own checks: what a worker would get
            raise ApiError(400, str(exc)) from None
        metrics = sent["metadata"]["metrics"]
        return {"backlog_count": metrics["backlogCount"], "backlog_bytes": metrics["backlogBytes"]}

    async def purge(self, request: Request) -> Any:
        name = request.path_params["queue_name"]
        handle = self._handle(name)
        ids = _ids(await json_body(request, required=False))
        return {"purged": handle.purge(ids)}

    async def redrive(self, request: Request) -> Any:
        name = request.path_params["queue_name"]
        handle = self._handle(name)
        body = await json_body(request, required=False)
        ids = _ids(body)
        to = field_of(body, "to", str, None) if body is not None else None
        if to is not None:
            self._handle(to)
        sources = handle.dead_letter_sources
        try:
            moved = handle.redrive(ids, to)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return {"redriven": moved, "to": to or sources[0]}


def _ids(body: Any) -> list[str] | None:
    if body is None:
        return None
    ids = field_of(body, "message_ids", list, None)
    if ids is None:
        return None
    if not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "message_ids must be an array of strings")
    return [str(i) for i in ids]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _message_json(message: Any) -> dict[str, Any]:
    state = message["state"]
    timestamp = message["timestamp"]
    return {
        "id": message["id"],
        "state": state,
        "attempts": message["attempts"],
        "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
        "timestamp_ms": round(timestamp.timestamp() * 1000, 3),
        "next_delivery": None if state == "in_flight" else _iso(message["available_at"]),
        "content_type": message["content_type"],
        "size": message["size"],
        "body": literal_body(message["body"], message["content_type"]),
    }
