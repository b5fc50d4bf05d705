"""The board's viewers: a child process of ``bench/consultations.py`` (asyncio and
websockets, no Django) holding VIEWERS sockets open and probing the board pages; run as
``python -m bench._viewers`` with its configuration on standard input."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from typing import Any


async def _http_get(port: int, cookie: str, path: str, conn: dict[str, Any]) -> tuple[int, float]:
    """GET over one kept-alive connection; returns (status, milliseconds)."""
    began = time.perf_counter()
    if conn.get("writer") is None:
        conn["reader"], conn["writer"] = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = conn["reader"], conn["writer"]
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sessionid={cookie}\r\n"
            "Accept: text/html\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and "close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(length)
    if close:
        writer.close()
        conn["writer"] = None
    return status, (time.perf_counter() - began) * 1000


async def _viewers(config: dict[str, Any]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    port = config["port"]
    received: list[tuple[int, str, float]] = []
    shown: list[tuple[int, str, float]] = []
    refetch: list[float] = []
    probe_page: list[tuple[float, float]] = []
    probe_rows: list[tuple[float, float]] = []
    errors: list[str] = []
    connected = 0
    all_connected = asyncio.Event()
    stop = asyncio.Event()

    async def viewer(cookie: str) -> None:
        nonlocal connected
        dirty = asyncio.Event()
        conn: dict[str, Any] = {}
        heard: list[tuple[int, str]] = []

        async def fetcher() -> None:
            # As board.js: wait 0.25-1 s after a change (a burst costs one fetch), one fetch
            # in flight at a time.
            while not stop.is_set():
                await dirty.wait()
                await asyncio.sleep(0.25 + random.random() * 0.75)
                dirty.clear()
                covered = list(heard)
                heard.clear()
                try:
                    status, ms = await _http_get(port, cookie, "/board/rows", conn)
                    refetch.append(ms)
                    done = time.time()
                    shown.extend((case_id, action, done) for case_id, action in covered)
                    if status != 200:
                        errors.append(f"rows {status}")
                except Exception as error:
                    errors.append(repr(error))
                    conn["writer"] = None

        async with connect(
            f"ws://127.0.0.1:{port}/ws/board/?lang=zh-hans",
            origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={cookie}"},
            proxy=None,
            open_timeout=30,
        ) as ws:
            connected += 1
            if connected == len(config["sessions"]):
                all_connected.set()
            task = asyncio.create_task(fetcher())
            try:
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                    except TimeoutError:
                        continue
                    moment = time.time()
                    message = json.loads(raw)
                    if message.get("type") == "changed":
                        key = (message["id"], message.get("action", ""))
                        received.append((*key, moment))
                        if "html" in message:  # the rows come with the message: shown now
                            shown.append((*key, moment))
                        else:  # as the page does without them: fetch the rows
                            heard.append(key)
                            dirty.set()
            finally:
                task.cancel()

    async def probe() -> None:
        await all_connected.wait()
        conn: dict[str, Any] = {}
        cookie = config["sessions"][0]
        while not stop.is_set():
            for path, into in (("/board/", probe_page), ("/board/rows", probe_rows)):
                try:
                    status, ms = await _http_get(port, cookie, path, conn)
                    into.append((time.time(), ms))
                    if status != 200:
                        errors.append(f"probe {path} {status}")
                except Exception as error:
                    errors.append(repr(error))
                    conn["writer"] = None
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(viewer(cookie)) for cookie in config["sessions"]]
    tasks.append(asyncio.create_task(probe()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_connected.wait(), timeout=60)
    print("READY" if all_connected.is_set() else f"ONLY {connected}", flush=True)
    await asyncio.sleep(config["seconds"])
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "connected": connected,
        "received": received,
        "shown": shown,
        "refetch": refetch,
        "probe_page": probe_page,
        "probe_rows": probe_rows,
        "errors": errors[:20],
    }


def viewers_main() -> None:
    config = json.loads(sys.stdin.read())
    result = asyncio.run(_viewers(config))
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    viewers_main()
