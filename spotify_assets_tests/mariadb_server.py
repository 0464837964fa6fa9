"""A throw-away MariaDB server: `mariadb-install-db` into a temporary data directory, then
`/usr/sbin/mariadbd` on a free loopback port as this process's child (Debian package
mariadb-server). Used by the TLS test and by bench/bench_warehouse.py (a server with a larger
buffer pool)."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pymysql

MARIADBD = "/usr/sbin/mariadbd"
TOOLS = (MARIADBD, "mariadb-install-db")


def run(*command: str | Path, cwd: Path) -> None:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{command[0]} failed: {result.stderr[-2000:]}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(
    port: int, server: subprocess.Popen, log: Path, timeout: float = 120
) -> pymysql.Connection:
    """An admin connection (root, no password), as soon as the server accepts one."""
    deadline = time.monotonic() + timeout
    while True:
        assert server.poll() is None, f"mariadbd exited: {log.read_text()[-3000:] if log.exists() else ''}"
        try:
            return pymysql.connect(
                host="127.0.0.1", port=port, user="root", password="", autocommit=True, connect_timeout=2
            )
        except pymysql.err.OperationalError:
            assert time.monotonic() < deadline, f"mariadbd not ready: {log.read_text()[-3000:]}"
            time.sleep(0.1)


@contextmanager
def mariadb_server(folder: Path, *options: str) -> Iterator[tuple[int, pymysql.Connection]]:
    """(port, admin connection) of a new server with its data in `folder`; stopped on exit."""
    user = ["--user=" + getpass.getuser()] if os.geteuid() == 0 else []
    run(
        "mariadb-install-db",
        "--no-defaults",
        f"--datadir={folder / 'data'}",
        *user,
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        cwd=folder,
    )
    port, log = free_port(), folder / "mariadbd.log"
    server = subprocess.Popen(
        [
            MARIADBD,
            "--no-defaults",
            f"--datadir={folder / 'data'}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={folder / 'mariadbd.sock'}",
            f"--pid-file={folder / 'mariadbd.pid'}",
            f"--log-error={log}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--local-infile=1",
            *options,
            *user,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        admin = wait_for_server(port, server, log)
        try:
            yield port, admin
        finally:
            admin.close()
    finally:
        server.terminate()
        server.wait(timeout=120)
