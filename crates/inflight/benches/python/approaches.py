"""The seeds' ways of running many coroutines with a limit, each as `run(make, n, limit)`.

`make(i)` returns the i-th coroutine; every approach must run all n with at most `limit` at
once and return the sum of their results, so a wrong approach shows up as a wrong sum. The
code follows the seeds (/work/shared/seeds) as written there, fixed only where it would not run.
"""

import asyncio
from itertools import islice


async def limited_as_completed(make, n, limit):
    """Seed 000: a sleep(0) polling loop over a list of tasks, refilled from a generator."""
    coros = (make(i) for i in range(n))

    def limited(coros, limit):
        futures = [asyncio.ensure_future(c) for c in islice(coros, 0, limit)]

        async def first_to_finish():
            while True:
                await asyncio.sleep(0)
                for f in futures:
                    if f.done():
                        futures.remove(f)
                        try:
                            newf = next(coros)
                            futures.append(asyncio.ensure_future(newf))
                        except StopIteration:
                            pass
                        return f.result()

        while len(futures) > 0:
            yield first_to_finish()

    total = 0
    for res in limited(coros, limit):
        total += await res
    return total


async def semaphore_gather(make, n, limit):
    """Seeds 001/002: gather_with_concurrency, every coroutine made up front."""
    semaphore = asyncio.Semaphore(limit)

    async def sem_coro(coro):
        async with semaphore:
            return await coro

    return sum(await asyncio.gather(*(sem_coro(make(i)) for i in range(n))))


async def taskgroup_semaphore(make, n, limit):
    """Seed 003: a TaskGroup, with the semaphore acquired before each task is created."""
    semaphore = asyncio.Semaphore(limit)
    total = 0

    def done(task):
        nonlocal total
        total += task.result()
        semaphore.release()

    async with asyncio.TaskGroup() as tg:
        for i in range(n):
            await semaphore.acquire()
            tg.create_task(make(i)).add_done_callback(done)
    return total


async def wait_first_completed(make, n, limit):
    """Seed 001: a set of tasks topped up after asyncio.wait(FIRST_COMPLETED)."""
    tasks = set()
    total = 0
    for i in range(n):
        if len(tasks) >= limit:
            done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            total += sum(t.result() for t in done)
        tasks.add(asyncio.ensure_future(make(i)))
    if tasks:
        done, _ = await asyncio.wait(tasks)
        total += sum(t.result() for t in done)
    return total


async def aiometer_amap(make, n, limit):
    """aiometer.amap with max_at_once: results as they complete."""
    import aiometer

    total = 0
    async with aiometer.amap(make, range(n), max_at_once=limit) as results:
        async for result in results:
            total += result
    return total


async def asyncio_pool_map(make, n, limit):
    """Seed 001's asyncio-pool: AioPool(size).map, results in input order."""
    from asyncio_pool import AioPool

    pool = AioPool(size=limit)
    return sum(await pool.map(make, range(n)))


# Name -> (function, the inflight entry point it is compared with).
APPROACHES = {
    "limited_as_completed": (limited_as_completed, "as_completed"),
    "semaphore_gather": (semaphore_gather, "gather"),
    "taskgroup_semaphore": (taskgroup_semaphore, "as_completed"),
    "wait_first_completed": (wait_first_completed, "as_completed"),
    "aiometer_amap": (aiometer_amap, "as_completed"),
    "asyncio_pool_map": (asyncio_pool_map, "gather"),
}


async def ready(i):
    return i


async def yield_once(i):
    await asyncio.sleep(0)
    return i


async def timer(i):
    await asyncio.sleep(0.001)
    return i


WORKLOADS = {"ready": ready, "yield_once": yield_once, "timer": timer}
