"""One render per change for every socket showing the same panel; a render never outlives what it may show."""

from __future__ import annotations

import asyncio
import threading

import pytest

from trading.web.shared_render import VERSION_MARK, SharedRenders, stamp


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingRender:
    """A render that blocks until released, so callers pile up while it runs."""

    def __init__(self, html: str = "<p>x</p>") -> None:
        self.calls = 0
        self.release = threading.Event()
        self.html = html

    def __call__(self) -> str:
        self.calls += 1
        self.release.wait(5)
        return self.html


async def test_sockets_asking_for_the_same_panel_share_one_render():
    shared, render = SharedRenders(clock=Clock()), CountingRender()
    waiting = [asyncio.create_task(shared.render(("account", "fills", 1), 99.0, render)) for _ in range(20)]
    await asyncio.sleep(0.05)
    render.release.set()

    results = await asyncio.gather(*waiting)

    assert render.calls == 1 and shared.started == 1 and set(results) == {"<p>x</p>"}


async def test_a_change_seen_after_a_render_started_gets_a_new_render():
    clock, render = Clock(), CountingRender()
    render.release.set()
    shared = SharedRenders(clock=clock)
    await shared.render("key", 99.0, render)

    await shared.render("key", 100.0, render)  # started at 100.0: it already shows a change seen at 100.0
    clock.now = 101.0
    await shared.render("key", 100.5, render)  # a change seen after that render started

    assert render.calls == 2


async def test_a_failed_render_is_not_reused():
    shared, calls = SharedRenders(clock=Clock()), []

    def failing() -> str:
        calls.append(1)
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await shared.render("key", 0.0, failing)
    with pytest.raises(RuntimeError):
        await shared.render("key", 0.0, failing)

    assert len(calls) == 2


async def test_a_socket_that_closes_while_waiting_does_not_cancel_the_others_render():
    shared, render = SharedRenders(clock=Clock()), CountingRender()
    leaving = asyncio.create_task(shared.render("key", 0.0, render))
    staying = asyncio.create_task(shared.render("key", 0.0, render))
    await asyncio.sleep(0.05)
    leaving.cancel()
    render.release.set()

    assert await staying == "<p>x</p>" and render.calls == 1


def test_an_event_is_seen_when_the_first_socket_receives_it():
    clock = Clock()
    shared = SharedRenders(clock=clock)
    first = shared.event_seen("abc:1")
    clock.now = 105.0

    assert shared.event_seen("abc:1") == first == 100.0
    assert shared.event_seen("abc:2") == 105.0
    assert shared.event_seen(None) == 105.0  # no id (an old publisher): only a render started from now on


def test_each_socket_stamps_its_own_version():
    html = f'<section data-panel="fills" data-version="{VERSION_MARK}">{VERSION_MARK}</section>'

    assert stamp(html, 7) == f'<section data-panel="fills" data-version="7">{VERSION_MARK}</section>'
