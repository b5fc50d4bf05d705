"""``telemed edge run``: the edge's three loops on one event loop, each bounded by its own
waits: the link to the hub, the looks at the watched folder (every ``EDGE_POLL_SECONDS``),
and the uploads (one file at a time; woken at once by an "upload now")."""

from __future__ import annotations

import asyncio
import logging

from django.db import close_old_connections

from telemed.pathology.edge import intake, uploads
from telemed.pathology.edge.config import EdgeConfig
from telemed.pathology.edge.hub import HubClient, HubRefused, HubUnreachable
from telemed.pathology.edge.link import Link

logger = logging.getLogger(__name__)


class Agent:
    def __init__(self, config: EdgeConfig, hub: HubClient | None = None) -> None:
        self.config = config
        self.hub = hub or HubClient(config)
        self.wake = asyncio.Event()
        self.link = Link(self.hub, self._wake_uploads)

    def _wake_uploads(self) -> None:
        self.wake.set()

    async def run(self) -> None:
        await asyncio.gather(self.link.run_forever(), self._looks(), self._uploads())

    async def _looks(self) -> None:
        inbox = intake.Inbox(self.config.watch_dir)
        while True:
            try:
                await asyncio.to_thread(self._look, inbox)
            except Exception:
                logger.exception("looking at %s", self.config.watch_dir)
            await asyncio.sleep(self.config.poll_seconds)

    def _look(self, inbox: intake.Inbox) -> None:
        try:
            intake.look(inbox, self.hub)
        finally:
            close_old_connections()

    async def _uploads(self) -> None:
        while True:
            try:
                sent = await asyncio.to_thread(self._upload_one)
            except (HubUnreachable, HubRefused) as error:
                logger.info("uploads wait for the hub: %s", error)
                sent = False
            except Exception:
                logger.exception("uploading")
                sent = False
            if sent:
                continue  # the next file at once
            self.wake.clear()
            try:
                async with asyncio.timeout(self.config.poll_seconds):
                    await self.wake.wait()
            except TimeoutError:
                pass

    def _upload_one(self) -> bool:
        try:
            row = uploads.next_due(self.config)
            return row is not None and uploads.upload(row, self.config, self.hub)
        finally:
            close_old_connections()
