"""Screenshot a rendered report in headless Chromium (for the README and visual checks).

Needs Playwright (a dev dependency) and a Chromium binary; it never downloads a browser.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["screenshot", "CHROMIUM_ARGS", "chromium_path"]

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> Path | None:
    """$SEEMINGLY_CHROMIUM or Debian's /usr/bin/chromium, None when neither exists."""
    for candidate in (os.environ.get("SEEMINGLY_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def screenshot(html_path: Path | str, png_path: Path | str, *, width: int = 1280,
               height: int = 900, full_page: bool = False, timeout_ms: int = 60_000) -> Path:
    """Open ``html_path`` in headless Chromium, wait for every figure, save a PNG.

    Parameters
    ----------
    html_path
        A report written by :func:`seemingly.report.render_report`.
    png_path
        Where to write the PNG (parent folders are created).
    width, height
        Viewport in CSS pixels; with ``full_page`` the height grows to the whole page.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("screenshot needs Playwright: pip install 'seemingly[dev]'") from exc
    browser_path = chromium_path()
    if browser_path is None:
        raise FileNotFoundError(
            "No Chromium found at /usr/bin/chromium; install it (apt-get install chromium) or "
            "set SEEMINGLY_CHROMIUM to a Chromium binary.")
    png = Path(png_path)
    png.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(browser_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(Path(html_path).resolve().as_uri())
            # The page's init script sets data-rendered once every Plotly figure is drawn.
            page.wait_for_selector("body[data-rendered]", state="attached", timeout=timeout_ms)
            page.screenshot(path=str(png), full_page=full_page)
        finally:
            browser.close()
    return png
