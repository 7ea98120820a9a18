"""A small Chrome DevTools Protocol client over aiohttp's WebSocket client (flat sessions).

One ``Connection`` per browser: commands are matched to their replies by id, and events are handed to
the listener registered for their session (``""`` is the browser's own session). Nothing here knows
about mixed content; ``sources/browser.py`` drives it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import aiohttp

Listener = Callable[[str, dict[str, Any]], None]  # (method, params)


class CDPError(Exception):
    """A command failed (the protocol's error message), or the connection closed under it."""


class Connection:
    """``async with Connection(ws_url) as cdp: await cdp.send("Target.createTarget", {...})``."""

    def __init__(self, ws_url: str) -> None:
        self._url = ws_url
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str, Listener] = {}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.closed = False

    async def __aenter__(self) -> Self:
        import aiohttp  # imported when a browser is first driven (start-up time of every other command)

        # the DevTools endpoint is on loopback and sends whole pages' worth of events: no size cap
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self._url, max_msg_size=0, autoping=False)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        self._fail_all("the DevTools connection closed")

    def listen(self, session_id: str, listener: Listener | None) -> None:
        """Hand the events of one session to ``listener`` (None: drop them)."""
        if listener is None:
            self._listeners.pop(session_id, None)
        else:
            self._listeners[session_id] = listener

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str = "",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and wait for its result; CDPError when it fails or the browser goes away."""
        import aiohttp

        if self.closed or self._ws is None:
            raise CDPError("the DevTools connection is closed")
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = future
        try:
            await self._ws.send_str(json.dumps(message))
            return await asyncio.wait_for(future, timeout)
        except (aiohttp.ClientError, ConnectionError) as e:
            raise CDPError(f"{method}: {e}") from None
        finally:
            self._waiting.pop(msg_id, None)

    async def _read(self) -> None:
        import aiohttp

        assert self._ws is not None
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if "id" in data:
                    future = self._waiting.get(data["id"])
                    if future is not None and not future.done():
                        if "error" in data:
                            future.set_exception(CDPError(str(data["error"].get("message", data["error"]))))
                        else:
                            future.set_result(data.get("result", {}))
                    continue
                listener = self._listeners.get(data.get("sessionId", ""))
                if listener is not None:
                    listener(data.get("method", ""), data.get("params", {}))
        finally:
            self.closed = True
            self._fail_all("the browser closed the DevTools connection")

    def _fail_all(self, why: str) -> None:
        self.closed = True
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(CDPError(why))
        self._waiting.clear()
