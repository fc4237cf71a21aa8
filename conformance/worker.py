"""The conformance suite's main module, in place of the SDK's `src/worker.py`.

The SDK's own `worker.py` runs the tests inside workerd through the SDK's private `testlib`, which
is not published. This module keeps the names the tests use: `Default` (whose queue handler
records every message it gets) and `RECEIVED_MESSAGES`, and it imports the suite's Durable Object
and Workflow classes as the SDK's worker does, so their bindings find them once pyflare emulates
them.
"""

from worker_durable_object import TestDurableObject  # noqa: F401 - registers the class
from worker_workflow import TestWorkflow  # noqa: F401 - registers the class
from workers import Response, WorkerEntrypoint

RECEIVED_MESSAGES: list[dict] = []


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("pyflare conformance worker")

    async def queue(self, batch, env, ctx):
        for message in batch.messages:
            RECEIVED_MESSAGES.append(
                {"id": message.id, "body": message.body, "attempts": message.attempts}
            )
            message.ack()
