"""Browser tests of the console: Playwright (async API) driving Debian's Chromium
(`/usr/bin/chromium`, installed by `scripts/lib.sh ensure_chromium`; Playwright's own
browser downloads are not used) against the service served by uvicorn in this event loop,
on a database of its own with the demo region.

Every test gets a fresh browser context (1366×768) and page whose console errors, page
errors and requests are recorded; at teardown the test fails on any browser error it did
not declare (`page_log.allow(pattern)`) and on any request to a host other than the served
one."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright

from api.app import create_app
from tests.console.support import PageLog, Server, open_agency_page, watch
from tests.support import load_demo_into, make_settings, serving

CHROMIUM = os.environ.get("SIAGA112_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


@pytest.fixture(scope="session")
async def console_server(make_database: Callable[..., Awaitable[str]]) -> AsyncIterator[Server]:
    url = await make_database(migrated=True)
    await load_demo_into(url)
    # Acknowledgement time-outs past the run's length: no row is escalated under a test.
    app = create_app(make_settings(url, ack_timeout_s=[900, 900, 900, 900]))
    async for address in serving(app):
        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as api:
            yield Server(address, api)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: scripts/test installs Debian's chromium "
                    "(scripts/lib.sh ensure_chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def context(browser: Browser, console_server: Server) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=VIEWPORT, base_url=console_server.url)
    context.set_default_timeout(5000)
    yield context
    await context.close()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
async def page(
    context: BrowserContext, page_log: PageLog, console_server: Server
) -> AsyncIterator[Page]:
    """A page of the test's context, checked at teardown: no unexpected browser error,
    no request to another host."""
    page = watch(await context.new_page(), page_log)
    yield page
    await page.close()
    assert not page_log.unexpected_errors(), page_log.unexpected_errors()
    assert not page_log.foreign_requests(console_server.address), \
        page_log.foreign_requests(console_server.address)




@pytest.fixture(scope="module")
async def shared_agency_page(
    browser: Browser, console_server: Server
) -> AsyncIterator[tuple[Page, PageLog]]:
    """One agency page open for a module's tests (as a room keeps it open all shift): each
    test makes its own calls and rows, and `agency_page` checks its share of the log."""
    context = await browser.new_context(viewport=VIEWPORT, base_url=console_server.url)
    context.set_default_timeout(5000)
    log = PageLog()
    page = watch(await context.new_page(), log)
    await open_agency_page(page, console_server)
    yield page, log
    await context.close()


@pytest.fixture
async def agency_page(
    shared_agency_page: tuple[Page, PageLog], console_server: Server
) -> AsyncIterator[Page]:
    """The module's open agency page, checked like `page` for what this test made it do."""
    page, log = shared_agency_page
    errors, requests = len(log.errors), len(log.requests)
    yield page
    assert not log.errors[errors:], log.errors[errors:]
    foreign = PageLog(requests=log.requests[requests:]).foreign_requests(console_server.address)
    assert not foreign, foreign
