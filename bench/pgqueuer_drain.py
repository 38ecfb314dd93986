"""bench/engine.sh's peer: PgQueuer draining N no-op jobs from the same server.

Usage: python3 bench/pgqueuer_drain.py N [BATCH] [WORKERS]   (libpq env vars name the
database, where `pgq install` has created PgQueuer's schema). Enqueues N jobs of entrypoint
"noop" (untimed, in chunks), then times WORKERS queue managers (each its own connection,
in this one asyncio process) in drain mode taking BATCH jobs per dequeue until the queue
is empty; prints "pgqueuer: N jobs in S s = R jobs/s".
"""

import asyncio
import sys
import time
from datetime import timedelta

import asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from pgqueuer.types import QueueExecutionMode


async def main(n: int, batch: int, workers: int) -> None:
    conn = await asyncpg.connect()
    queries = Queries(AsyncpgDriver(conn))
    chunk = 10_000
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        await queries.enqueue(["noop"] * k, [None] * k, [0] * k)
    queued = await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE status = 'queued'")

    done = 0

    async def worker() -> None:
        nonlocal done
        c = await asyncpg.connect()
        qm = QueueManager(Queries(AsyncpgDriver(c)))

        @qm.entrypoint("noop")
        async def noop(job) -> None:  # the job itself does nothing
            nonlocal done
            done += 1

        await qm.run(dequeue_timeout=timedelta(seconds=1), batch_size=batch, mode=QueueExecutionMode.drain)
        await c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    seconds = time.perf_counter() - t0
    left = await conn.fetchval("SELECT count(*) FROM pgqueuer")
    await conn.close()
    print(f"pgqueuer: {done} jobs in {seconds:.2f} s = {done / seconds:.0f} jobs/s "
          f"({queued} queued, {left} left in the queue table; batch {batch}, {workers} queue manager(s))")


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(int(args[0]), int(args[1]) if len(args) > 1 else 100, int(args[2]) if len(args) > 2 else 1))
