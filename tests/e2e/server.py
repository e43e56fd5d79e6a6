"""Real console server processes on loopback, for browser and multi-process tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import requests

from console.config import BASE_DIR

# A loaded CI machine (two test workers, a browser) can take long to start a process: wait, and
# fail with a clear message only when it really does not come up.
START_SECONDS = 90


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(db_url: str) -> None:
    """Migrate and load the demo data the way `make run` does."""
    env = {**os.environ, "DATABASE_URL": db_url}
    for command in ("upgrade", "demo"):
        subprocess.run([sys.executable, "-m", "console.cli", command], cwd=BASE_DIR, env=env,
                       check=True, capture_output=True)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a child process, killing it if it does not go within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_started(base: str, proc: subprocess.Popen, seconds: float = START_SECONDS) -> None:
    """Wait until the server at `base` answers its login page; raise if it exits or is late."""
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server {base} exited with {proc.returncode}")
        try:
            if requests.get(f"{base}/login", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server {base} did not start within {seconds:.0f} s")
        time.sleep(0.2)


@contextmanager
def server(db_url: str, *, extra_env: dict[str, str] | None = None, log_path=None,
           script: str = "run.py"):
    """Run `python run.py` (or another script) on a free port; yield its base URL; stop it."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "HOST": "127.0.0.1", "PORT": str(port),
           "SECRET_KEY": "e2e-secret", "SOCKETIO_MESSAGE_QUEUE": "", "RATELIMIT_STORAGE_URI": "memory://",
           "POSITIONS_REDIS_URL": "", **(extra_env or {})}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, script], cwd=BASE_DIR, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_started(base, proc)
        yield base, proc
    finally:
        stop(proc)
        if log_path:
            log.close()
