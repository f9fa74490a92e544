"""`qa serve`: only the person with the printed URL gets a session, sessions are capped,
every app process ends with its session or with the server, and a served app stays on
its folder. The server tests run the real `qa serve` and real app processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import SEEDS
from tests.tui_fakes import settle
from tests.test_tui import LAUNCH, SIZE, ask, fake_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


# ---------------------------------------------------------------- helpers


class Served:
    """A running `qa serve` on a free loopback port, answering from its own sources copy."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        # A unique folder name marks this server's app processes among all on the machine.
        self.sources = tmp_path / f"sources-{time.monotonic_ns()}"
        self.sources.mkdir(parents=True)
        for name in ("000_e0042af1a856563e.txt", "004_94b9e911fa48ec17.txt"):
            (self.sources / name).write_bytes((SEEDS / name).read_bytes())
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "serve.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--port", str(self.port),
             "--sources", str(self.sources), "--index", str(tmp_path / "index"), *args],
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"),
        )
        self.token = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"/\?token=(\S+)", self.log.read_text())
            if found:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return found.group(1)
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.1)
        raise AssertionError(f"qa serve did not start: {self.log.read_text()}")

    def ws_url(self, token: str | None = None) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/{token or self.token}?width=250&height=30"  # the status line shows all

    def apps(self) -> list[int]:
        """Process ids of `qa tui` apps serving this server's sources folder."""
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                argv = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            if b"tui" in argv and str(self.sources).encode() in argv:
                found.append(int(cmdline.parent.name))
        return found

    def wait_for_no_apps(self, seconds: float) -> float:
        """Seconds until no app is left; fails after `seconds`."""
        started = time.monotonic()
        while self.apps():
            assert time.monotonic() - started < seconds, f"app processes left: {self.apps()}"
            time.sleep(0.1)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pid in self.apps():  # only if a test failed: leave nothing running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def served_factory(tmp_path):
    started: list[Served] = []

    def start(*args: str) -> Served:
        served = Served(tmp_path / str(len(started)), *args)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


async def refusal(url: str, origin: str | None) -> int:
    """The HTTP status the server answers a websocket handshake with (101 = accepted)."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, origin=origin):
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


async def read_until(ws, needle: bytes, seconds: float) -> None:
    screen = b""
    async with asyncio.timeout(seconds):
        while needle not in screen:
            message = await ws.receive()
            assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), message
            if message.type == aiohttp.WSMsgType.BINARY:
                screen += message.data


# ---------------------------------------------------------------- the server


@pytest.mark.slow
def test_a_two_second_visit_and_a_stopped_server_leave_no_app_process(served_factory):
    served = served_factory()

    async def visit(seconds: float) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(served.ws_url(), origin=served.origin) as ws:
                await asyncio.sleep(seconds)
                assert served.apps(), "the session started no app"
                await ws.close()

    asyncio.run(visit(2.0))
    served.wait_for_no_apps(10)

    async def stay_until_stopped() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(served.ws_url(), origin=served.origin) as ws:
                # An app that is ready and idle is the one that used to linger.
                await read_until(ws, b"ready", 180)
                served.process.send_signal(signal.SIGTERM)
                served.process.wait(10)

    asyncio.run(stay_until_stopped())
    served.wait_for_no_apps(10)


def test_only_the_secret_and_the_same_origin_open_a_session(served_factory):
    served = served_factory()

    async def statuses() -> dict[str, int]:
        async with aiohttp.ClientSession() as session:
            page = f"http://127.0.0.1:{served.port}/"
            async with session.get(page) as bare, session.get(f"{page}?token={served.token}") as good:
                assert good.status == 200
                assert f"/ws/{served.token}" in await good.text()
                page_without_secret = bare.status
        return {
            "page without the secret": page_without_secret,
            "no secret": await refusal(served.ws_url("not-the-secret"), served.origin),
            "foreign origin": await refusal(served.ws_url(), "http://evil.example"),
            "no origin": await refusal(served.ws_url(), None),
            "other port": await refusal(served.ws_url(), "http://127.0.0.1:1"),
        }

    assert asyncio.run(statuses()) == {
        "page without the secret": 403,
        "no secret": 403,
        "foreign origin": 403,
        "no origin": 403,
        "other port": 403,
    }
    assert served.apps() == []  # a refused client never starts an app


@pytest.mark.slow
def test_the_seventh_session_is_refused_until_one_closes(served_factory):
    served = served_factory("--max-sessions", "6")

    async def sessions() -> tuple[int, int]:
        async with aiohttp.ClientSession() as session:
            open_ = [await session.ws_connect(served.ws_url(), origin=served.origin) for _ in range(6)]
            seventh = await refusal(served.ws_url(), served.origin)
            await open_.pop().close()
            deadline = time.monotonic() + 10  # its app is ended first, then the slot is free
            while (again := await refusal(served.ws_url(), served.origin)) != 101:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.5)
            for ws in open_:
                await ws.close()
            return seventh, again

    assert asyncio.run(sessions()) == (503, 101)
    served.wait_for_no_apps(10)


def _cli(monkeypatch, *args: str):
    """`qa serve ARGS` with the listening left out: what it prints before serving."""
    from typer.testing import CliRunner

    from qa.cli import app as cli
    from tui.server import QAServer

    monkeypatch.setattr(QAServer, "serve", lambda self: None)
    return CliRunner().invoke(cli, ["serve", *args])


def test_a_non_loopback_host_gets_a_loud_warning(monkeypatch):
    wide = _cli(monkeypatch, "--host", "0.0.0.0", "--sources", str(SEEDS))
    assert wide.exit_code == 0
    assert "WARNING: --host 0.0.0.0 makes the UI" in wide.output
    assert re.search(r"http://0\.0\.0\.0:8000/\?token=[\w-]{32}", wide.output)
    local = _cli(monkeypatch, "--sources", str(SEEDS))
    assert "WARNING" not in local.output
    assert re.search(r"http://127\.0\.0\.1:8000/\?token=[\w-]{32}", local.output)
    # A new secret every run.
    assert re.findall(r"token=(\S+)", local.output) != re.findall(r"token=(\S+)", wide.output)


def test_is_loopback():
    from tui.server import is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.3.4.5", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.4", "example.org"]))


def test_cli_tui_and_serve_have_help_and_check_the_folder(tmp_path):
    from typer.testing import CliRunner

    from qa.cli import app as cli
    from qa.cli.tui_cmd import serve_command

    runner = CliRunner()
    for command in ("tui", "serve"):
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "--sources" in result.output
    assert "--max-sessions" in runner.invoke(cli, ["serve", "--help"]).output
    result = runner.invoke(cli, ["tui", "--sources", str(tmp_path / "missing")])
    assert result.exit_code == 1
    command = serve_command(tmp_path, None)
    assert command.startswith("exec ")
    assert command.endswith(f"-m qa tui --served --sources {tmp_path.resolve()}")
    assert serve_command(tmp_path, None, "trained").endswith(f"--reader {(Path.cwd() / 'trained').resolve()}")
    assert "--reader" in runner.invoke(cli, ["tui", "--help"]).output


def test_the_tui_opens_its_pipeline_with_the_answerer_asked_for(monkeypatch):
    from tui.app import make_app

    opened = []
    monkeypatch.setattr("qa.pipeline.Pipeline.open", lambda *args, **kwargs: opened.append(kwargs["reader"]))
    for reader in ("shipped", "trained"):
        make_app(reader=reader).pipeline_factory(None, None, False, lambda progress: None)
    make_app().pipeline_factory(None, None, False, lambda progress: None)
    assert opened == ["shipped", "trained", "shipped"]


def test_a_served_app_quits_when_its_server_is_gone_and_is_ended_if_it_cannot(monkeypatch):
    from qa.cli import tui_cmd

    parent = {"pid": 4242}
    monkeypatch.setattr(tui_cmd.os, "getppid", lambda: parent["pid"])
    asked, forced = threading.Event(), threading.Event()

    class StuckApp:  # asked to exit, but never does
        def call_later(self, callback):
            callback()

        def exit(self):
            asked.set()

    tui_cmd._exit_when_orphaned(StuckApp(), every=0.01, grace=0.2, force_exit=lambda code: forced.set())
    assert not asked.wait(0.2)  # the server is alive: keep running
    parent["pid"] = 1  # re-parented: the server died
    assert asked.wait(5)
    assert forced.wait(5)


# ---------------------------------------------------------------- the served app


def served_app(tmp_path: Path):
    app, pipeline, factory = fake_app(tmp_path)
    app.served = True
    return app, pipeline, factory


async def test_a_served_app_cannot_switch_to_another_folder(tmp_path):
    app, _, factory = served_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Switch sources folder" not in titles and "Rebuild index" in titles
        app.action_switch_sources()
        await pilot.pause()
        assert len(app.screen_stack) == 1  # no folder prompt
        assert len(factory.calls) == 1 and app.sources is None
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert any("answers from seeds only" in w for w in warnings)


async def test_a_served_app_sends_the_export_to_the_browser_and_writes_no_file(tmp_path, monkeypatch):
    app, _, _ = served_app(tmp_path)
    delivered = []
    monkeypatch.setattr(
        app, "deliver_text", lambda file, **options: delivered.append((file.read(), options))
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, LAUNCH)
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert list(tmp_path.iterdir()) == []
    [(markdown, options)] = delivered
    assert f"## 1. {LAUNCH}" in markdown
    assert re.fullmatch(r"qa-transcript-\d{8}-\d{6}\.md", options["save_filename"])
