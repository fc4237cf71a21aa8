import asyncio
import json
from urllib.parse import parse_qs, urlparse

from js import WebSocketPair, WebSocketRequestResponsePair
from workers import DurableObject, Response, WorkerEntrypoint

BUILT = {"count": 0}


def query(request):
    return {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}


class Hub(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        BUILT["count"] += 1
        self.built = BUILT["count"]
        self.handled = []  # in memory: lost when the instance is dropped
        self.ctx.setWebSocketAutoResponse(WebSocketRequestResponsePair.new("ping", "pong"))

    async def fetch(self, request):
        args = query(request)
        case = args.get("case", "join")
        client, server = WebSocketPair.new().object_values()
        if case == "accepted-client":
            client.accept()
            return Response(None, status=101, web_socket=client)
        if case == "hibernated-server":
            self.ctx.acceptWebSocket(server)
            return Response(None, status=101, web_socket=server)
        tags = [t for t in args.get("tags", "").split(",") if t]
        self.ctx.acceptWebSocket(server, tags)
        server.serializeAttachment({"user": args.get("user", "?")})
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        self.handled.append(message if isinstance(message, str) else "<binary>")
        if not isinstance(message, str):
            ws.send(f"{message.constructor.name}:{message.to_bytes().hex()}")
            return
        verb, _, rest = message.partition(":")
        if verb == "echo":
            ws.send(rest)
        elif verb == "who":
            attachment = ws.deserializeAttachment()
            ws.send(json.dumps({"user": attachment["user"], "built": self.built}))
        elif verb == "tags":
            ws.send(json.dumps(self.ctx.getTags(ws)))
        elif verb == "count":
            ws.send(str(len(self.ctx.getWebSockets(rest or None))))
        elif verb == "slow":
            await asyncio.sleep(0.01)
            ws.send("slow done")
        elif verb == "handled":
            ws.send(json.dumps(self.handled))
        elif verb == "raise":
            raise RuntimeError("handler broke")
        elif verb == "close":
            ws.close(4000, "server closes")
        elif verb == "abort":
            self.ctx.abort("reset by the test")
        elif verb == "timeout":
            self.ctx.setHibernatableWebSocketEventTimeout(int(rest))
            ws.send(str(self.ctx.getHibernatableWebSocketEventTimeout()))
        elif verb == "sleep":
            await asyncio.sleep(float(rest))
            ws.send("woke")
        elif verb == "stamp":
            ws.send(str(self.ctx.getWebSocketAutoResponseTimestamp(ws) is not None))
        elif verb == "broadcast":
            for other in self.ctx.getWebSockets():
                other.send(rest)

    async def webSocketClose(self, ws, code, reason, wasClean):
        open_now = len(self.ctx.getWebSockets())
        closes = await self.ctx.storage.get("closes") or []
        closes.append([code, reason, wasClean, open_now])
        await self.ctx.storage.put("closes", closes)
        if reason != "no-reply" and code not in (1005, 1006):
            ws.close(1000, f"closed {code}")

    async def webSocketError(self, ws, error):
        await self.ctx.storage.put("error", str(error))

    async def closes(self):
        return await self.ctx.storage.get("closes") or []


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        hub = self.env.HUB.getByName(query(request).get("hub", "main"))
        if path == "/relay":
            # The worker as the client of the object's socket (both ends in this process).
            response = await hub.fetch("http://hub/?user=relay", headers={"Upgrade": "websocket"})
            ws = response.js_object.webSocket
            ws.accept()
            got = asyncio.get_running_loop().create_future()
            ws.addEventListener("message", lambda event: got.done() or got.set_result(event.data))
            ws.send("who")
            answer = await asyncio.wait_for(got, 5)
            ws.close(1000, "relay done")
            return Response(answer)
        if path == "/plain":
            client, server = WebSocketPair.new()
            server.accept()
            return Response(None, status=101, web_socket=client)
        return await hub.fetch(request)
