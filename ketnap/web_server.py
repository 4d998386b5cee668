"""The web app in a background thread of `ketnap serve` (uvicorn), stopped cleanly with the rest."""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn


class WebServer:
    def __init__(self, host: str, port: int, *, workers_threads: int = 40) -> None:
        from web.app import create_app

        self.host, self.port = host, port
        config = uvicorn.Config(create_app(), host=host, port=port, log_level="warning", access_log=False,
                                proxy_headers=False, server_header=False, limit_concurrency=workers_threads * 4)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="ketnap-web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError(f"the web app could not start on {self.url} (is the port taken?)")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the web app did not answer on {self.url} within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
