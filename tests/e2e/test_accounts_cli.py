"""Accounts from the command line (the first admin of a fresh install) and `ketnap web` on its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.test_cli import KETNAP, run, run_json


def test_the_first_admin_is_created_from_the_cli_and_can_get_an_api_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETNAP_")} | {"KETNAP_HOME": str(home)}
    created = subprocess.run([*KETNAP, "account", "add", "admin", "--name", "Quản trị", "--role", "admin",
                              "--password-stdin", "--json"], input="mat-khau-quan-tri-2026\n", capture_output=True,
                             text=True, env=env, timeout=60)
    assert created.returncode == 0, created.stderr
    short = subprocess.run([*KETNAP, "account", "add", "bithu", "--name", "Bí thư", "--role", "secretary:nowhere",
                            "--password-stdin"], input="ngan\n", capture_output=True, text=True, env=env, timeout=60)
    assert short.returncode == 2 and "password" in short.stderr + short.stdout
    accounts = run_json(home, "account", "list")
    assert [(a["username"], [g["role"] for g in a["grants"]]) for a in accounts] == [("admin", ["admin"])]
    token = run(home, "account", "token", "admin", "--name", "script").stdout.strip()
    assert token.startswith("kn_")
    no_terminal = subprocess.run([*KETNAP, "account", "add", "x.y.z", "--name", "X"], stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, env=env, timeout=60)
    assert no_terminal.returncode == 2 and "--password-stdin" in no_terminal.stderr + no_terminal.stdout


def test_ketnap_web_serves_the_app_alone_and_stops_on_sigterm(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init", "--demo")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETNAP_")} | {"KETNAP_HOME": str(home),
                                                                                 "KETNAP_ORCHESTRATION": "off"}
    proc = subprocess.Popen([*KETNAP, "web", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answer is not None and answer.json() == {"status": "ok"}
        assert httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token", timeout=10,
                          json={"username": "bantochuc", "password": "ketnap-demo-2026"}).status_code == 201
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status says SIGTERM
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "Traceback" not in out
