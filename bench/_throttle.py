"""A thin link in user space: a TCP proxy on loopback that gives each direction a bandwidth
(bytes are serialised one after another at ``rate`` bytes/s) and a one-way delay, as a
county hospital's line would. Used instead of ``tc netem`` so that a benchmark never
changes the shared machine's own interfaces."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field

CHUNK = 16 * 1024


@dataclass
class Direction:
    rate: float  # bytes per second
    delay: float  # seconds, one way
    free_at: float = 0.0  # when the line has sent everything queued so far
    sent: int = 0
    queue: asyncio.Queue[tuple[float, bytes]] = field(default_factory=asyncio.Queue)

    def schedule(self, data: bytes) -> float:
        now = time.monotonic()
        self.free_at = max(self.free_at, now) + len(data) / self.rate
        self.sent += len(data)
        return self.free_at + self.delay


class ThrottledLink:
    """``listen`` on a free loopback port, forwarding to ``target_port``; start() runs it in
    a thread of its own, stop() ends it."""

    def __init__(self, target_port: int, *, rate: float, delay: float) -> None:
        self.target_port = target_port
        self.rate, self.delay = rate, delay
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None

    def start(self) -> None:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)
        future.result(timeout=10)

    def stop(self) -> None:
        async def close() -> None:
            if self.server is not None:
                self.server.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", self.port)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        outward = Direction(self.rate, self.delay)
        inward = Direction(self.rate, self.delay)
        tasks = [
            asyncio.create_task(self._read(reader, outward)),
            asyncio.create_task(self._deliver(outward, up_writer)),
            asyncio.create_task(self._read(up_reader, inward)),
            asyncio.create_task(self._deliver(inward, writer)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for each in (writer, up_writer):
            each.close()

    async def _read(self, reader: asyncio.StreamReader, line: Direction) -> None:
        while data := await reader.read(CHUNK):
            await line.queue.put((line.schedule(data), data))
        await line.queue.put((time.monotonic(), b""))

    async def _deliver(self, line: Direction, writer: asyncio.StreamWriter) -> None:
        while True:
            at, data = await line.queue.get()
            if not data:
                return
            wait = at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
