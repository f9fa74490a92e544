"""`qa serve`: the terminal UI in a browser, for the person who started it and nobody else.

textual-serve starts one app process per websocket session. On top of it this server:

- accepts a session only with the per-run secret (the printed URL carries it: the page
  is `/?token=SECRET`, its websocket `/ws/SECRET`) and a same-origin `Origin`, so another
  web page, or another user of the machine, cannot drive the UI and read the documents;
- caps the number of concurrent sessions (each app holds the model, ~550 MB);
- ends every app process it started: when its session closes (asked to quit, then
  SIGTERM, then SIGKILL, each after a grace period) and when the server stops.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import signal
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

log = logging.getLogger(__name__)

DEFAULT_MAX_SESSIONS = 6
# How long an app gets to quit by itself after its session closes, then after SIGTERM.
QUIT_GRACE_SECONDS = 2.0
TERM_GRACE_SECONDS = 2.0


def is_loopback(host: str) -> bool:
    """True when `host` can only be reached from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any address


class AppSession(AppService):
    """One browser session's app process, which it can end for certain."""

    async def end(self, quit_grace: float, term_grace: float) -> None:
        """Ask the app to quit; SIGTERM it, then SIGKILL it, if it does not in time.

        An app still starting (importing torch, loading the model) reads the quit request
        only once its driver runs, which can take longer than the person stayed.
        """
        process = self._process  # textual-serve keeps the process here; no public accessor
        if process is None:
            return
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            await self.send_meta({"type": "quit"})
            for send, grace in ((None, quit_grace), (signal.SIGTERM, term_grace), (signal.SIGKILL, None)):
                if send is not None and process.returncode is None:
                    try:
                        process.send_signal(send)
                    except ProcessLookupError:
                        break
                try:
                    await asyncio.wait_for(process.wait(), grace)
                    break
                except TimeoutError:
                    continue
        if self._task is not None:  # reads the app's output; ends once the process is gone
            try:
                await asyncio.wait_for(self._task, term_grace)
            except TimeoutError:
                pass  # wait_for has cancelled it
            self._task = None


class QAServer(Server):
    """textual-serve's server with a secret, an Origin check, a session cap and clean exits."""

    def __init__(
        self,
        command: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        secret: str | None = None,
        quit_grace: float = QUIT_GRACE_SECONDS,
        term_grace: float = TERM_GRACE_SECONDS,
    ) -> None:
        super().__init__(command, host=host, port=port, title="qa")
        self.secret = secret or secrets.token_urlsafe(24)
        self.max_sessions = max_sessions
        self.quit_grace = quit_grace
        self.term_grace = term_grace
        self.sessions: set[AppSession] = set()
        self._admitted = 0  # sessions let in, counted before their app starts
        self._sockets: set[web.WebSocketResponse] = set()

    @property
    def url(self) -> str:
        """The address to open: the page, with the secret."""
        return f"{self.public_url}/?token={self.secret}"

    def initialize_logging(self) -> None:
        """Keep the CLI's logging (textual-serve would install its own rich handler)."""

    async def _make_app(self) -> web.Application:
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws/{token}", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints its logo here; `qa serve` prints its own line instead."""

    async def on_shutdown(self, app: web.Application) -> None:
        """End every session and its app before the server exits (SIGINT or SIGTERM)."""
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"qa serve stopped")
        await asyncio.gather(*(self._end(session) for session in list(self.sessions)))

    def _has_secret(self, token: str) -> bool:
        return secrets.compare_digest(token.encode(), self.secret.encode())

    def _refusal(self, request: web.Request, token: str) -> web.Response | None:
        """Why this websocket request may not start a session, as an HTTP response."""
        if not self._has_secret(token):
            return web.Response(status=403, text="qa serve: open the URL that `qa serve` printed\n")
        origin = request.headers.get("Origin")
        if origin != f"{request.scheme}://{request.host}":
            log.warning("refused a session from origin %r", origin)
            return web.Response(status=403, text="qa serve: cross-origin sessions are refused\n")
        if self._admitted >= self.max_sessions:
            return web.Response(
                status=503,
                text=f"qa serve: {self.max_sessions} sessions are open already; close one first\n",
            )
        return None

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        if not self._has_secret(request.query.get("token", "")):
            raise web.HTTPForbidden(text="qa serve: open the URL that `qa serve` printed\n")
        scheme = "wss" if request.scheme == "https" else "ws"
        return {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            # The page's own host, so the socket is same-origin however the page was reached.
            "app_websocket_url": f"{scheme}://{request.host}/ws/{self.secret}",
            "config": {"static": {"url": f"{request.scheme}://{request.host}/static/"}},
            "application": {"name": self.title},
        }

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request, request.match_info["token"])
        if refusal is not None:
            return refusal
        self._admitted += 1
        session: AppSession | None = None
        websocket = web.WebSocketResponse(heartbeat=15)
        try:
            await websocket.prepare(request)
            self._sockets.add(websocket)
            session = AppSession(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.sessions.add(session)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except (asyncio.CancelledError, ConnectionResetError):
            pass
        except Exception:
            log.exception("a qa serve session failed")
        finally:
            self._sockets.discard(websocket)
            if session is not None:
                await asyncio.shield(self._end(session))
            self._admitted -= 1
        return websocket

    async def _end(self, session: AppSession) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            await session.end(self.quit_grace, self.term_grace)
