import asyncio
from urllib.parse import urlparse

from workers import DurableObject, Response, WorkerEntrypoint


class Lab(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.alarms = []
        self.fail_alarms = 0
        self.events = []

    async def echo(self, value):
        return value

    async def mutate(self, data):
        data["touched"] = True
        return data

    async def boom(self, kind):
        if kind == "assert":
            assert 1 == 2, "one is not two"
        raise ValueError(f"bad {kind}")

    async def call_back(self, fn, value):
        return await fn(value)

    async def increment(self, key="n"):
        value = (await self.ctx.storage.get(key)) or 0
        await self.ctx.storage.put(key, value + 1)
        return value + 1

    async def slow_increment(self, key="n"):
        value = (await self.ctx.storage.get(key)) or 0
        await asyncio.sleep(0)  # not a storage call: other events may run here
        await self.ctx.storage.put(key, value + 1)
        return value + 1

    async def counter_row(self):
        sql = self.ctx.storage.sql
        sql.exec("CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, at TEXT)")
        sql.exec("INSERT INTO hits (at) VALUES (?)", "now")
        return sql.exec("SELECT COUNT(*) AS n FROM hits").one()["n"]

    async def block(self, seconds):
        async def hold():
            self.events.append("block-start")
            await asyncio.sleep(seconds)
            self.events.append("block-end")
            return "held"

        return await self.ctx.blockConcurrencyWhile(hold)

    async def note(self, what):
        self.events.append(what)
        return list(self.events)

    async def self_call(self, name):
        stub = self.env.LAB.getByName(name)
        return await stub.echo("via self")

    async def set_alarm_at(self, ms, failures=0):
        self.fail_alarms = failures
        await self.ctx.storage.setAlarm(ms)
        return await self.ctx.storage.getAlarm()

    async def alarm(self, alarm_info):
        self.alarms.append(dict(alarm_info))
        await self.ctx.storage.put("alarm-runs", len(self.alarms))
        if self.fail_alarms > 0:
            self.fail_alarms -= 1
            raise RuntimeError("alarm went wrong")

    async def alarm_log(self):
        return self.alarms

    async def quit(self):
        self.ctx.abort("enough")

    async def fetch(self, request):
        path = urlparse(request.url).path
        return Response(f"lab {path} {request.method}")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path.strip("/")
        name, _, action = path.partition("/")
        stub = self.env.LAB.getByName(name or "default")
        if action == "increment":
            return Response(str(await stub.increment()))
        if action == "sql":
            return Response(str(await stub.counter_row()))
        return await stub.fetch(request)
