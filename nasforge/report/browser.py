"""Headless Chromium for checking and timing report pages (browser tests, the report benchmark, doc
screenshots). Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package (the
``dev`` extra); :func:`unavailable` says which is missing.

The browser runs with ``--headless --no-sandbox --disable-gpu --no-first-run
--disable-background-networking --disable-component-update --disable-sync`` and an empty
``--user-data-dir`` (removed afterwards), so it never reaches the network on its own.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Any

BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVERS = ("/usr/bin/chromedriver",)
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

#: what a page holds, read in the browser: sections, figures (size, drawn elements), resources fetched
PAGE_STATE_JS = """
var figs = Array.prototype.map.call(document.querySelectorAll('figure.plot'), function(f){
  var svg = f.querySelector('svg'), box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {kind: f.getAttribute('data-kind'), width: box.width, height: box.height,
          drawn: svg ? svg.querySelectorAll('path, use, text, image, rect, line').length : 0,
          section: f.closest('section') ? f.closest('section').getAttribute('data-section') : null};
});
return {
  sections: Array.prototype.map.call(document.querySelectorAll('section[data-section]'),
                                     function(s){ return s.getAttribute('data-section'); }),
  figures: figs,
  resources: performance.getEntriesByType('resource').map(function(r){ return r.name; }),
  title: document.title,
  text: document.body.innerText.length
};
"""

#: navigation timing of the loaded page (milliseconds from navigation start)
TIMING_JS = """
var n = performance.getEntriesByType('navigation')[0];
var paint = performance.getEntriesByName('first-contentful-paint')[0];
return {dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,
        first_contentful_paint: paint ? paint.startTime : null, bytes: n.transferSize || n.decodedBodySize};
"""


def unavailable() -> str | None:
    """Why no headless browser can run here (``None`` when one can)."""
    if importlib.util.find_spec("selenium") is None:
        return "the selenium package is not installed (pip install -e '.[dev]')"
    if not any(Path(p).exists() for p in BROWSERS):
        return "no Chromium at " + ", ".join(BROWSERS) + " (apt-get install chromium chromium-driver)"
    if not any(Path(p).exists() for p in DRIVERS):
        return "no chromedriver at " + ", ".join(DRIVERS) + " (apt-get install chromium-driver)"
    return None


class Browser:
    """A headless Chromium session (use as a context manager)."""

    def __init__(self, width: int = 1300, height: int = 1000) -> None:
        reason = unavailable()
        if reason:
            raise RuntimeError(f"no headless browser: {reason}")
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self._profile = tempfile.mkdtemp(prefix="nasforge-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = next(p for p in BROWSERS if Path(p).exists())
        for flag in (*FLAGS, f"--user-data-dir={self._profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(next(p for p in DRIVERS if Path(p).exists()))
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except BaseException:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise
        self.driver.set_page_load_timeout(60)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)

    def open(self, url_or_path: str | Path) -> None:
        """Load a URL, or a local file by path; returns after the load event."""
        url = str(url_or_path)
        if "://" not in url:
            url = Path(url).resolve().as_uri()
        self.driver.get(url)

    def console(self, level: str = "SEVERE") -> list[dict[str, Any]]:
        """Console entries of ``level`` since the last call (errors by default)."""
        return [e for e in self.driver.get_log("browser") if e.get("level") == level]

    def state(self) -> dict[str, Any]:
        """Sections, figures (size and drawn elements) and fetched resources of the current page."""
        return self.driver.execute_script(PAGE_STATE_JS)

    def timing(self) -> dict[str, Any]:
        """Navigation timing of the current page (ms)."""
        return self.driver.execute_script(TIMING_JS)

    def run(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def screenshot(self, path: str | Path, full_page: bool = True) -> Path:
        """A PNG of the page (the whole page when ``full_page``, up to 8,000 px tall)."""
        if full_page:
            height = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
            width = int(self.driver.execute_script("return window.innerWidth"))
            self.driver.set_window_size(max(width, 800), min(height + 120, 8000))
        self.driver.save_screenshot(str(path))
        return Path(path)
