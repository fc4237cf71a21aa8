from urllib.parse import parse_qs, urlparse

from workers import DurableObject, Response, WorkerEntrypoint

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, src TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS deliveries (n INTEGER NOT NULL, attempts INTEGER NOT NULL)",
)
RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"


class Notes(DurableObject):
    """Notes in the object's own SQL database, and a query that never ends."""

    async def add(self, text):
        sql = self.ctx.storage.sql
        sql.exec("CREATE TABLE IF NOT EXISTS notes (text TEXT NOT NULL)")
        sql.exec("INSERT INTO notes (text) VALUES (?)", text)
        return sql.exec("SELECT count(*) AS n FROM notes").one()["n"]

    async def runaway(self):
        print("runaway object query started", flush=True)
        return self.ctx.storage.sql.exec(RUNAWAY).one()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        db = self.env.DB
        if url.path.startswith("/notes/"):
            notes = self.env.NOTES.getByName("notes")
            try:
                if url.path == "/notes/add":
                    return Response.json({"notes": await notes.add("a note")})
                await notes.runaway()
            except Exception as exc:
                return Response.json({"type": type(exc).__name__, "error": str(exc)}, status=500)
            return Response.json({"error": None})
        if url.path == "/runaway":
            print("runaway query started", flush=True)
            try:
                await db.prepare(RUNAWAY).first()
            except Exception as exc:
                return Response.json({"type": type(exc).__name__, "error": str(exc)}, status=500)
            return Response.json({"error": None})
        try:
            if url.path in ("/insert", "/counts"):
                for statement in SCHEMA:
                    await db.prepare(statement).run()
            if url.path == "/insert":
                await db.prepare("INSERT INTO rows (src) VALUES ('worker')").run()
                return Response.json({"inserted": 1})
            if url.path == "/send":
                count = int(query.get("n", "1"))
                delay = int(query.get("delay", "0"))
                messages = [{"body": {"n": i}} for i in range(count)]
                await self.env.JOBS.sendBatch(messages, delaySeconds=delay)
                return Response.json({"sent": count})
            if url.path == "/counts":
                row = await db.prepare(
                    "SELECT (SELECT count(*) FROM rows WHERE src = 'worker') AS worker, "
                    "(SELECT count(*) FROM rows WHERE src = 'cli') AS cli, "
                    "(SELECT count(*) FROM deliveries) AS deliveries, "
                    "(SELECT count(DISTINCT n) FROM deliveries) AS distinct_deliveries"
                ).first()
                return Response.json(row)
        except Exception as exc:
            return Response.json({"type": type(exc).__name__, "error": str(exc)}, status=500)
        return Response("safety worker")

    async def queue(self, batch):
        for statement in SCHEMA:
            await self.env.DB.prepare(statement).run()
        for message in batch.messages:
            await (
                self.env.DB.prepare("INSERT INTO deliveries (n, attempts) VALUES (?, ?)")
                .bind(message.body["n"], message.attempts)
                .run()
            )

    async def scheduled(self, controller):
        print(f"scheduled ran: {controller.cron}", flush=True)
