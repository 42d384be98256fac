"""Headless Debian Chromium through Playwright, recording console messages and websocket frames."""
import os
from dataclasses import dataclass, field
from typing import List, Tuple

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "test-artifacts")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # Debian's; `playwright install` is never run
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclass
class PageLog:
    """What the page said: console lines, page errors, websocket URLs, errors and frames."""

    console: List[str] = field(default_factory=list)
    websockets: List[str] = field(default_factory=list)
    frames: List[Tuple[str, str]] = field(default_factory=list)  # (sent|received, payload)

    def errors(self) -> List[str]:
        return [line for line in self.console if line.startswith(("[error]", "[pageerror]", "[websocket error]"))]

    def websocket_errors(self) -> List[str]:
        return [line for line in self.console if "websocket" in line.lower() and "error" in line.lower()]

    def received(self) -> List[str]:
        return [payload for direction, payload in self.frames if direction == "received"]


def record(page) -> PageLog:
    log = PageLog()
    page.on("console", lambda message: log.console.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: log.console.append(f"[pageerror] {error}"))

    def on_websocket(websocket):
        log.websockets.append(websocket.url)
        websocket.on("framereceived", lambda payload: log.frames.append(("received", str(payload))))
        websocket.on("framesent", lambda payload: log.frames.append(("sent", str(payload))))
        websocket.on("socketerror", lambda error: log.console.append(f"[websocket error] {error}"))

    page.on("websocket", on_websocket)
    return log


def save_screenshot(page, name: str) -> str:
    """Save the page as test-artifacts/<name>.png (kept out of git; docs/ holds chosen copies)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, f"{name}.png")
    page.screenshot(path=path)
    return path
