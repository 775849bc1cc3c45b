"""Debian's headless Chromium, driven through its chromedriver, for the end-to-end tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUILD = Path(__file__).resolve().parents[2] / "build"


def require_chromium() -> None:
    """Skip without Debian's chromium and chromedriver; on CI, fail instead."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    reason = f"{', '.join(missing)} missing: run `make browser-deps` (Debian's chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """Start headless Chromium with a fresh profile; yield its WebDriver, then quit."""
    require_chromium()
    from selenium import webdriver

    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def run_script(driver: Any, script: str, *args: Any) -> Any:
    """Await a JavaScript expression on the current page and return its value.

    A rejected promise comes back as `{"error": "<name>: <message>"}`.
    """
    return driver.execute_async_script(
        f"const done = arguments[arguments.length - 1];"
        f"Promise.resolve().then(() => {script}).then(done, e => done({{error: String(e)}}));",
        *args,
    )


def browser_cookie(driver: Any, name: str) -> dict[str, Any] | None:
    """Return a cookie as the browser's cookie store holds it, HttpOnly or not."""
    cookies = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
    found = [cookie for cookie in cookies if cookie["name"] == name]
    return found[0] if found else None
