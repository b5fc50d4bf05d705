"""A WebSocket test client for the consumers, on asgiref's ApplicationCommunicator.

(``channels.testing`` imports daphne's live-server helpers at import time, and daphne is not a
dependency of this project; this is the part of its WebsocketCommunicator the tests use.)
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

T = TypeVar("T")


class WebsocketCommunicator(ApplicationCommunicator):
    def __init__(
        self,
        application: Any,
        path: str,
        headers: list[Any] | None = None,
        query_string: bytes = b"",
    ) -> None:
        self.scope = {
            "type": "websocket",
            "path": path,
            "query_string": query_string,
            "headers": headers or [],
            "subprotocols": [],
        }
        super().__init__(application, self.scope)

    async def connect(self, timeout: float = 3) -> tuple[bool, Any]:
        """(True, subprotocol) when accepted; (False, close code) when refused."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, response.get("subprotocol")

    async def send_to(self, text_data: str) -> None:
        await self.send_input({"type": "websocket.receive", "text": text_data})

    async def receive_json_from(self, timeout: float = 3) -> Any:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 3) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def run_async(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run an async test scenario from a synchronous test.

    In the thread that already runs an event loop (Playwright's sync API keeps one running for
    the rest of a session once a browser test has started it), the scenario runs in a thread
    of its own instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(scenario)()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = async_to_sync(scenario)()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name="async-scenario")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
