import asyncio
from urllib.parse import parse_qs, urlparse

from workers import Response, WorkerEntrypoint

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS seen (n INTEGER PRIMARY KEY, attempts INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS deliveries (n INTEGER NOT NULL, attempts INTEGER NOT NULL)",
)


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        for statement in SCHEMA:
            await self.env.DB.prepare(statement).run()
        if url.path == "/send":
            count = int(parse_qs(url.query)["n"][0])
            await self.env.JOBS.sendBatch([{"body": {"n": i}} for i in range(count)])
            return Response.json({"sent": count})
        row = await self.env.DB.prepare(
            "SELECT COUNT(*) AS seen, (SELECT COUNT(*) FROM deliveries) AS deliveries FROM seen"
        ).first()
        return Response.json(row)

    async def queue(self, batch):
        for statement in SCHEMA:
            await self.env.DB.prepare(statement).run()
        for message in batch.messages:
            await asyncio.sleep(0.02)  # slow enough to be killed mid-batch
            await (
                self.env.DB.prepare("INSERT INTO deliveries (n, attempts) VALUES (?, ?)")
                .bind(message.body["n"], message.attempts)
                .run()
            )
            await (
                self.env.DB.prepare("INSERT OR REPLACE INTO seen (n, attempts) VALUES (?, ?)")
                .bind(message.body["n"], message.attempts)
                .run()
            )
            message.ack()
