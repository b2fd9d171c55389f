"""Screenshots of the sample site for the handbook, with headless Chromium (Debian's, via Playwright).

    .venv/bin/python handbook/screenshots.py          # writes handbook/docs/images/*.png

The site is built into a temporary folder and served on 127.0.0.1 only. Small
viewport, one device pixel per CSS pixel, so the committed PNGs stay small.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
SHOTS = {
    "home.png": "/",
    "challenge.png": "/challenges/feeling-empowered/",
    "idea.png": "/ideas/give-ward-teams-a-small-budget-to-fix-everyday-problems/",
    "share.png": "/share/",
}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """Serve folder on 127.0.0.1 (a free port) for the duration."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def take(root: Path, images: Path, shots: dict[str, str] = SHOTS) -> list[Path]:
    """Build the site at root, serve it locally and write one PNG per page into images."""
    from playwright.sync_api import sync_playwright

    from generator.build import build

    images.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        with serving(site) as url:
            build(root, site, base_url=url)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=os.environ.get("CONSULT_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1000, "height": 680}, device_scale_factor=1)
                page.set_default_timeout(60_000)  # generous: the machine may be busy with other tests
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
                for name, path in shots.items():
                    page.goto(url + path, wait_until="load")
                    page.screenshot(path=str(images / name))
                    written.append(images / name)
                browser.close()
    return written


if __name__ == "__main__":
    for path in take(PROJECT, HERE / "docs" / "images"):
        print(f"{path.relative_to(PROJECT)}: {path.stat().st_size // 1024} KiB")
    sys.exit(0)
