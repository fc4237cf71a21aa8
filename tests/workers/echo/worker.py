"""Test worker: each path exercises one part of the HTTP front door."""

from urllib.parse import parse_qsl, urlparse

from workers import Response, WorkerEntrypoint

SCHEDULED = []
CONSUMED = []


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        if url.path == "/echo":
            return Response.json(
                {
                    "method": request.method,
                    "url": request.url,
                    "path": url.path,
                    "query": parse_qsl(url.query),
                    "headers": request.headers.items(),
                    "body": await request.text(),
                }
            )
        if url.path == "/cookies":
            response = Response("cookies set", status=201, headers={"X-Custom": "yes"})
            # `.headers` is a snapshot (as in the SDK); the JS Headers is the live one.
            response.js_object.headers.append("Set-Cookie", "a=1; Path=/")
            response.js_object.headers.append("Set-Cookie", "b=2; HttpOnly")
            return response
        if url.path == "/binary":
            return Response(bytes(range(256)), headers={"content-type": "image/x-test"})
        if url.path == "/boom":
            raise RuntimeError("kaboom from the handler")
        if url.path == "/not-a-response":
            return {"oops": True}
        if url.path == "/send":
            await self.env.JOBS.send({"job": await request.text()})
            return Response("queued", status=202)
        if url.path == "/greeting":
            return Response(self.env.GREETING)
        return Response.json({"error": "not found"}, status=404)

    async def queue(self, batch):
        for message in batch.messages:
            CONSUMED.append(message.body)
            message.ack()

    async def scheduled(self, controller):
        if controller.cron == "fail":
            raise ValueError("scheduled handler failed on purpose")
        SCHEDULED.append((controller.cron, controller.scheduledTime))
