"""A controllable TCP proxy for partition tests: put one between two nodes, then cut or heal the link.

Runs its own asyncio loop in a daemon thread so that synchronous tests (driving real node processes)
can use it. Modes:
  pass       forward bytes both ways
  blackhole  keep sockets open but drop every byte (a silent partition: peers notice by timeout)
  reset      close every connection and refuse new ones (a loud partition)

    proxy = TcpProxy("127.0.0.1", node_b_p2p_port).start()
    ... node A dials proxy.port instead of node B ...
    proxy.set_mode("blackhole"); ...; proxy.set_mode("pass")
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

MODES = ("pass", "blackhole", "reset")


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1", port: int = 0):
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.port = port
        self.mode = "pass"
        self.bytes_forwarded = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="tcp-proxy")
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- control (any thread) --------------------------------------------------------------
    def start(self) -> TcpProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(5)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        if mode == "reset":
            asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(5)

    @property
    def address(self) -> str:
        return f"{self.listen_host}:{self.port}"

    # -- the loop ---------------------------------------------------------------------------
    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._client, self.listen_host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._close_all()
        if self._server is not None:
            await self._server.wait_closed()

    async def _close_all(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.close()
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "reset":
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode == "pass":
                    writer.write(data)
                    await writer.drain()
                    self.bytes_forwarded += len(data)
                elif self.mode == "reset":
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
