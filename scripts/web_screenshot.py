"""Take screenshots/browser.png: `specviz serve` in headless Chromium after DRAFT, VERIFY and ACCEPT.

    PYTHONPATH=$PWD python scripts/web_screenshot.py

Needs what the browser tests need: textual-serve (`pip install -e '.[web]'`),
Playwright (`pip install playwright`) and Debian's chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "specviz", "serve", "--port", str(port)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        print(server.stderr.readline().strip())
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("document.body.classList.contains('-first-byte')", timeout=30_000)
            page.wait_for_timeout(1500)  # the engine loads just after the first frame
            page.click(".textual-terminal")
            for _ in range(3):
                page.keyboard.press(" ")
                page.wait_for_timeout(400)
            page.wait_for_timeout(800)
            page.screenshot(path=str(ROOT / "screenshots" / "browser.png"))
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    print("wrote screenshots/browser.png")


if __name__ == "__main__":
    main()
