"""The key-ordering benchmark in the shape of Confluent Parallel Consumer's published one.

10,000 messages, each 0-5 ms of work (a sleep: I/O-like, as in PC's benchmark), spread over 1, 10
or 1000 keys and 12 partitions, processed with up to ``concurrency`` at once under three
orderings: KEY (our KeyScheduler: one at a time per key), PARTITION (one at a time per
partition, what a plain consumer gives), UNORDERED (no constraint). It measures the scheduler in
isolation: no broker, no serialisation.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from media_stream.kafka.messages import ConsumedMessage
from media_stream.runtime.scheduler import Job, KeyScheduler

PARTITIONS = 12


@dataclass(frozen=True)
class Message:
    key: str
    partition: int
    work_s: float


def make_messages(count: int, keys: int, seed: int = 7) -> list[Message]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        key = f"k{rng.randrange(keys)}"
        out.append(Message(key, hash(key) % PARTITIONS, rng.uniform(0.0, 0.005)))
    return out


def run_ordering(messages: list[Message], mode: str, concurrency: int) -> float:
    """Seconds to process every message under ``mode`` (key, partition, unordered)."""
    if mode == "key":
        return _run_key(messages, concurrency)
    lanes: dict[object, deque[Message]] = {}
    for m in messages:
        lane = m.partition if mode == "partition" else id(m)
        lanes.setdefault(lane, deque()).append(m)
    return _run_lanes(list(lanes.values()), concurrency)


def _run_lanes(lanes: list[deque[Message]], concurrency: int) -> float:
    """Each lane in order, lanes in parallel (a lane per partition, or one per message)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        running: dict[Future, deque[Message]] = {}
        waiting = deque(lanes)
        while waiting or running:
            while waiting and len(running) < concurrency:
                lane = waiting.popleft()
                running[pool.submit(time.sleep, lane[0].work_s)] = lane
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                lane = running.pop(future)
                lane.popleft()
                if lane:
                    waiting.append(lane)
    return time.perf_counter() - started


def _run_key(messages: list[Message], concurrency: int) -> float:
    scheduler = KeyScheduler()
    for offset, m in enumerate(messages):
        consumed = ConsumedMessage("bench", m.partition, offset, m.key.encode(), b"")
        scheduler.enqueue(Job(key=m.key, message=consumed, request=m, steps=[m.work_s], trace=""))
    lock = threading.Lock()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        running: dict[Future, Job] = {}
        while len(scheduler) or running:
            room = concurrency - len(running)
            if room > 0:
                with lock:
                    batch = scheduler.take_batch(0.0, room, lambda j: 0)
                for job in batch:
                    running[pool.submit(time.sleep, job.step)] = job
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                job.running = False
                job.next_step = 1
                scheduler.remove(job)
    return time.perf_counter() - started


def ordering_benchmark(count: int = 10_000, concurrency: int = 64, key_counts: tuple[int, ...] = (1, 10, 1000)) -> dict:
    results: dict[str, dict[str, float]] = {}
    for keys in key_counts:
        messages = make_messages(count, keys)
        row = {mode: round(run_ordering(messages, mode, concurrency), 3) for mode in ("key", "partition", "unordered")}
        row["key_vs_partition_speedup"] = round(row["partition"] / row["key"], 2)
        results[f"{keys}_keys"] = row
    return {"messages": count, "concurrency": concurrency, "partitions": PARTITIONS, "seconds": results}
