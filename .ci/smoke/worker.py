from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        name = (await request.json())["name"]
        insert = self.env.DB.prepare("INSERT INTO jobs (name) VALUES (?) RETURNING id")
        row = await insert.bind(name).first()
        await self.env.JOBS.send({"id": row["id"]})
        return Response.json(row, status=202)

    async def queue(self, batch):
        for message in batch.messages:
            update = self.env.DB.prepare("UPDATE jobs SET done = 1 WHERE id = ?")
            await update.bind(message.body["id"]).run()
            message.ack()
