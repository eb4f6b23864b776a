"""The web server: aiohttp serving three pages (board, member, console) rendered with Jinja2, each
also as a fragment the page re-fetches when the live relay says something changed, the npm
libraries from node_modules and the page's own script and style from this package. Nothing is
loaded from anywhere else. A failing read becomes a sentence on the page, never a stack trace."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import jinja2
from aiohttp import web

from consortium.client import MAX_ALLOWANCE
from consortium.client.money import rmb
from consortium.wallet.words import day, moment
from consortium.web import board as board_reads
from consortium.web import member as member_reads
from consortium.web.chain import ChainSource, Unavailable
from consortium.web.console import Console
from consortium.web.live import Relay, ws_url_of
from consortium.web.nodes import NodeRef

log = logging.getLogger("hubao.web")

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE.parents[1] / "node_modules"
ASSETS = {  # URL name -> file of a pinned npm package (package.json)
    "pico.min.css": NODE_MODULES / "@picocss/pico/css/pico.jade.min.css",
    "chart.umd.min.js": NODE_MODULES / "chart.js/dist/chart.umd.min.js",
}
STATIC = HERE / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGES = {"board": "Notice board", "member": "My membership", "console": "Consortium console"}


def missing_assets() -> list[Path]:
    return [p for p in ASSETS.values() if not p.is_file()]


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        rmb=rmb,
        day=day,
        moment=moment,
        allowance=lambda fen: "unlimited" if fen >= MAX_ALLOWANCE // 2 else rmb(fen),
        words=lambda name: re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower(),  # InNotice -> in notice
        short=lambda h: f"{h[:10]}…{h[-6:]}" if h else "",
    )
    env.globals["left"] = time_left
    return env


def time_left(until: int, now: int) -> str:
    """'2 days 3 h left' as chain time goes; 'ended' once it has passed."""
    seconds = until - now
    if seconds <= 0:
        return "ended"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days} d {hours} h left"
    return f"{hours} h {rest // 60} min left" if hours else f"{max(1, rest // 60)} min left"


@dataclass
class Web:
    source: ChainSource
    nodes: list[NodeRef] = field(default_factory=list)
    ws_url: str = ""

    def __post_init__(self) -> None:
        self.env = _templates()
        self.console = Console(self.nodes, self.source)
        suite = self.source.suite
        addresses = {}
        topics = {}
        if suite is not None:
            for name in ("claims", "jury", "pool", "membership"):
                addresses[name] = getattr(suite, name).address
            topics = self.source.events.topics()
        self.relay = Relay(self.ws_url or ws_url_of(self.source.rpc), addresses, topics)

    # ---- rendering ----

    def render(self, request: web.Request, page: str, status: int = 200, **context) -> web.Response:
        fragment = request.match_info.get("fragment") == "fragment"
        head = self.relay.head or {}
        html = self.env.get_template(f"{page}.html").render(
            page=page,
            title=PAGES.get(page, "Hubao"),
            pages=PAGES,
            fragment=fragment,
            query=request.query_string,
            head=head,
            now=head.get("timestamp") or int(time.time()),
            rpc=self.source.rpc,
            **context,
        )
        return web.Response(text=html, content_type="text/html", status=status)

    async def _head(self) -> dict:
        head = await self.source.read(self.source.head, suite=False)
        if not self.relay.head or head["number"] >= self.relay.head["number"]:
            self.relay.head = {"kind": "head", **head}
        return head

    async def _events(self) -> tuple[dict, list]:
        """The head and the board's events up to it; Unavailable when the node or the suite is not there."""
        head = await self._head()
        refresh = self.source.events.refresh if self.source.events else (lambda number: [])
        return head, await self.source.read(refresh, head["number"])

    # ---- pages ----

    async def board(self, request: web.Request) -> web.Response:
        try:
            head, events = await self._events()
            data = await self.source.memo(
                "board", (len(events), head["number"]), board_reads.board, self.source.suite, events
            )
        except Unavailable as exc:
            return self.render(request, "board", problem=str(exc))
        return self.render(request, "board", problem=None, **data)

    async def member(self, request: web.Request) -> web.Response:
        text = request.query.get("address", "")
        context = {"address": text, "problem": None, "bad_input": None, "m": None}
        if not text.strip():
            return self.render(request, "member", **context)
        try:
            address = member_reads.parse_address(text)
        except member_reads.BadAddress as exc:
            context["bad_input"] = str(exc)
            return self.render(request, "member", status=400, **context)
        try:
            head, events = await self._events()
            context["m"] = await self.source.read(member_reads.membership, self.source.suite, events, address)
        except Unavailable as exc:
            context["problem"] = str(exc)
        return self.render(request, "member", **context)

    async def console_page(self, request: web.Request) -> web.Response:
        view = await self.console.view(request.app["session"])
        return self.render(request, "console", **view)

    async def asset(self, request: web.Request) -> web.StreamResponse:
        path = ASSETS.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})

    # ---- the application ----

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=64 * 1024)
        app.router.add_get("/", self.board)
        app.router.add_get("/{fragment:fragment}/board", self.board)
        app.router.add_get("/member", self.member)
        app.router.add_get("/{fragment:fragment}/member", self.member)
        app.router.add_get("/console", self.console_page)
        app.router.add_get("/{fragment:fragment}/console", self.console_page)
        app.router.add_get("/live", self.relay.serve)
        app.router.add_get("/assets/{name}", self.asset)
        app.router.add_static("/static", STATIC)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self.relay.close_pages)
        app.on_cleanup.append(self._stop)
        app.on_response_prepare.append(_security_headers)
        return app

    async def _start(self, app: web.Application) -> None:
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5)
        app["session"] = aiohttp.ClientSession(timeout=timeout)
        app["relay"] = asyncio.ensure_future(self.relay.run(app["session"]))

    async def _stop(self, app: web.Application) -> None:
        app["relay"].cancel()
        await app["session"].close()
        self.source.close()

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status != 404:
                raise
            return self.render(request, "missing", status=404, problem=None)
        except Exception as exc:  # a page must say what went wrong, and the server must keep serving
            log.exception("while serving %s", request.path)
            problem = f"the node gave an answer this page could not read ({type(exc).__name__}: {exc})"
            return self.render(request, "missing", status=500, problem=problem)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
