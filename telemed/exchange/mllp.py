"""The HL7 v2 listener: MLLP (``0x0B`` message ``0x1C 0x0D``) over TCP, on asyncio.

One connection carries any number of messages, each answered with its ACK before the next
is read (HL7's original-mode, one message in flight per connection; senders that want more
throughput open more connections). Messages are processed by ``inbound.receive_together``
in a bounded pool of worker threads, so the database never blocks the event loop.

Group commit: the messages that arrive while the database is busy with earlier ones (one
from each of several senders) are processed together in one transaction, and each is
ACKed once that transaction has committed. At most ``batches`` run at once; a message that
finds one free starts at once, alone.

What the listener refuses, without harming the other connections:

- a frame larger than ``MLLP_MAX_BYTES``: the connection is dropped once that many bytes
  have arrived without an end block; the rest is never read;
- bytes outside a frame (binary garbage, a sender that forgot MLLP): one AR, then the
  connection is dropped, since the stream can no longer be trusted to be in step;
- a frame cut short by the sender closing: an AR for what arrived, then close;
- a frame begun inside another (the sender gave up on the first): the first is discarded;
- silence for ``MLLP_IDLE_TIMEOUT`` seconds: the connection is closed;
- more than ``MLLP_MAX_CONNECTIONS`` connections at once: the newest is closed at once;
- the database failing: no ACK and the connection is dropped, so the sender sends again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.utils.translation import gettext as _

from telemed.core import context
from telemed.exchange import hl7v2, inbound
from telemed.exchange.models import Outcome

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Transactions of messages processed at once, and messages in one transaction at most.
BATCHES = 2
BATCH_SIZE = 32

BatchHandler = Callable[[list[inbound.Arrival]], list[bytes | None]]


class FrameError(Exception):
    pass


class FrameTooLarge(FrameError):
    pass


class OutsideFrame(FrameError):
    pass


class FrameReader:
    """Reads MLLP frames from a stream, holding at most ``max_bytes`` of one frame."""

    def __init__(self, reader: asyncio.StreamReader, max_bytes: int) -> None:
        self.reader = reader
        self.max_bytes = max_bytes
        self.buffer = bytearray()

    async def next_frame(self) -> bytes | None:
        """The next message, or None at a clean end of stream (nothing pending).

        Raises FrameTooLarge, OutsideFrame, or ``asyncio.IncompleteReadError`` (with what
        arrived as ``partial``) for a frame cut short."""
        while True:
            start = self.buffer.find(hl7v2.START_BLOCK)
            before = self.buffer if start < 0 else self.buffer[:start]
            # Line endings between frames are tolerated; anything else is garbage.
            if before.strip(b"\r\n \t"):
                raise OutsideFrame()
            if start >= 0:
                end = self.buffer.find(hl7v2.END_BLOCK, start + 1)
                if end >= 0:
                    body = bytes(self.buffer[start + 1 : end])
                    del self.buffer[: end + 1]
                    if self.buffer.startswith(hl7v2.CARRIAGE_RETURN):
                        del self.buffer[:1]
                    restart = body.rfind(hl7v2.START_BLOCK)
                    if restart >= 0:
                        logger.warning("MLLP frame begun inside another; the first is dropped")
                        body = body[restart + 1 :]
                    return body
                if len(self.buffer) - start > self.max_bytes:
                    raise FrameTooLarge()
            elif len(self.buffer) > self.max_bytes:
                raise OutsideFrame()
            chunk = await self.reader.read(CHUNK)
            if not chunk:
                pending = bytes(self.buffer).strip(b"\r\n \t")
                if pending:
                    raise asyncio.IncompleteReadError(pending.lstrip(hl7v2.START_BLOCK), None)
                return None
            self.buffer += chunk


class Listener:
    """The MLLP server; ``serve_forever`` until cancelled."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        max_bytes: int | None = None,
        idle_timeout: float | None = None,
        workers: int | None = None,
        handler: Callable[[bytes], bytes] | None = None,
        max_connections: int | None = None,
        reuse_port: bool = False,
        batches: int = BATCHES,
    ) -> None:
        """``handler`` turns one message into its ACK (a stand-in for tests and the
        benchmark's transport ceiling); messages go to ``inbound.receive_together`` unless
        it is given."""
        self.batch_handler: BatchHandler = (
            _one_by_one(handler) if handler is not None else inbound.receive_together
        )
        self.host = host or settings.MLLP_HOST
        self.port = settings.MLLP_PORT if port is None else port
        self.max_bytes = max_bytes or settings.MLLP_MAX_BYTES
        self.idle_timeout = idle_timeout or settings.MLLP_IDLE_TIMEOUT
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers or settings.MLLP_WORKERS, thread_name_prefix="mllp"
        )
        self.server: asyncio.Server | None = None
        self.max_connections = max_connections or settings.MLLP_MAX_CONNECTIONS
        # Several listener processes may share one port (SO_REUSEPORT): the kernel spreads
        # connections over them, which is how the listener uses more than one core.
        self.reuse_port = reuse_port
        self.connections = 0
        self.batches = max(1, min(batches, workers or settings.MLLP_WORKERS))
        self.running = 0
        self.waiting: list[tuple[inbound.Arrival, asyncio.Future[bytes | None]]] = []

    async def start(self) -> int:
        """Bind and start accepting; returns the port (useful with port 0)."""
        self.server = await asyncio.start_server(
            self._connection, self.host, self.port, reuse_port=self.reuse_port or None
        )
        port: int = self.server.sockets[0].getsockname()[1]
        logger.info("MLLP listener on %s:%s", self.host, port)
        return port

    async def serve_forever(self) -> None:
        if self.server is None:
            await self.start()
        assert self.server is not None
        try:
            await self.server.serve_forever()
        finally:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            await asyncio.get_running_loop().run_in_executor(None, self._stop_workers)

    def _stop_workers(self) -> None:
        """Close each worker thread's database connection, then end the threads (a test
        database cannot be dropped while a worker still holds a connection to it)."""
        workers = self.executor._max_workers
        barrier = threading.Barrier(workers)

        def close() -> None:
            connections.close_all()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)

        for future in [self.executor.submit(close) for _worker in range(workers)]:
            with contextlib.suppress(Exception):
                future.result(timeout=10)
        self.executor.shutdown(wait=True, cancel_futures=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if isinstance(peer, tuple) else ""
        if self.connections >= self.max_connections:
            # Each connection may hold a frame's worth of buffer: their number is bounded.
            logger.warning("MLLP connection from %s refused: %d open", source, self.connections)
            writer.close()
            return
        self.connections += 1
        frames = FrameReader(reader, self.max_bytes)
        try:
            while True:
                try:
                    body = await asyncio.wait_for(frames.next_frame(), self.idle_timeout)
                except TimeoutError:
                    logger.info("MLLP connection from %s idle; closing", source)
                    return
                except asyncio.IncompleteReadError as exc:
                    await self._reject(writer, _("the frame was cut short (no end block)"))
                    logger.warning(
                        "truncated MLLP frame from %s (%d bytes)", source, len(exc.partial)
                    )
                    return
                except FrameTooLarge:
                    logger.warning(
                        "MLLP frame from %s over %d bytes; connection dropped",
                        source,
                        self.max_bytes,
                    )
                    return
                except OutsideFrame:
                    await self._reject(writer, _("data outside an MLLP frame"))
                    logger.warning("data outside an MLLP frame from %s; connection dropped", source)
                    return
                if body is None:
                    return
                ack = await self._process(inbound.Arrival(body, _meta(source)))
                if ack is None:
                    logger.error("database failed on an HL7 message from %s; no ACK", source)
                    return
                writer.write(hl7v2.frame(ack))
                await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            self.connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _process(self, arrival: inbound.Arrival) -> bytes | None:
        """The message's ACK once its transaction has committed (None: no ACK)."""
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self.waiting.append((arrival, future))
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        """Start a batch of what waits, while fewer than ``batches`` run."""
        loop = asyncio.get_running_loop()
        while self.waiting and self.running < self.batches:
            batch, self.waiting = self.waiting[:BATCH_SIZE], self.waiting[BATCH_SIZE:]
            self.running += 1
            done = loop.run_in_executor(
                self.executor, _receive, self.batch_handler, [arrival for arrival, _f in batch]
            )
            done.add_done_callback(functools.partial(self._answer, batch))

    def _answer(
        self,
        batch: list[tuple[inbound.Arrival, asyncio.Future[bytes | None]]],
        outcome: asyncio.Future[list[bytes | None]],
    ) -> None:
        self.running -= 1
        acks: list[bytes | None] = [None] * len(batch)
        if not outcome.cancelled():
            failed = outcome.exception()
            if failed is None:
                acks = outcome.result()
            else:
                logger.error("HL7 batch of %d failed; no ACKs", len(batch), exc_info=failed)
        for (_arrival, future), ack in zip(batch, acks, strict=True):
            if not future.done():  # its connection may have gone meanwhile
                future.set_result(ack)
        self._dispatch()

    async def _reject(self, writer: asyncio.StreamWriter, reason: str) -> None:
        ack = hl7v2.acknowledgment(
            None,
            Outcome.REJECTED,
            control_id=inbound.new_control_id(),
            error=reason,
            error_code="100",
        )
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(hl7v2.frame(ack))
            await writer.drain()


def _meta(source: str) -> context.RequestMeta:
    return context.RequestMeta(source_ip=source, channel="mllp")


def _receive(handler: BatchHandler, arrivals: list[inbound.Arrival]) -> list[bytes | None]:
    """In a worker thread: one batch of messages."""
    close_old_connections()
    try:
        return handler(arrivals)
    finally:
        close_old_connections()


def _one_by_one(handler: Callable[[bytes], bytes]) -> BatchHandler:
    """A handler of one message as a handler of a batch: each with its sender's audit
    context; a database failure answers None (no ACK) for that message alone."""

    def handle(arrivals: list[inbound.Arrival]) -> list[bytes | None]:
        acks: list[bytes | None] = []
        for arrival in arrivals:
            token = context.set_current(arrival.meta)
            try:
                acks.append(handler(arrival.raw))
            except DatabaseError:
                logger.exception("database failed on an HL7 message; no ACK")
                acks.append(None)
            finally:
                context.reset(token)
        return acks

    return handle


async def serve() -> None:
    """The registered listener (``telemed serve``): ``MLLP_HOST``:``MLLP_PORT``."""
    await Listener().serve_forever()


def run_in_thread(*, port: int = 0, **options: object) -> tuple[int, Callable[[], None]]:
    """Start a listener on its own event loop in a daemon thread (tests, the benchmark);
    returns the bound port and a function that stops it."""
    loop = asyncio.new_event_loop()
    listener = Listener("127.0.0.1", port, **options)  # type: ignore[arg-type]
    started: concurrent.futures.Future[int] = concurrent.futures.Future()

    async def main() -> None:
        try:
            started.set_result(await listener.start())
        except Exception as exc:
            started.set_exception(exc)
            return
        await listener.serve_forever()

    def run() -> None:
        asyncio.set_event_loop(loop)
        task = loop.create_task(main())
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
        loop.close()

    thread = threading.Thread(target=run, name="mllp-listener", daemon=True)
    thread.start()
    bound = started.result(timeout=10)

    def stop() -> None:
        def cancel() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(cancel)
        thread.join(timeout=10)

    return bound, stop
