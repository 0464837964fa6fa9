"""Throw-away MariaDB/MySQL databases on the test server (import the fixtures where they are needed)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pymysql
import pytest

MYSQL_SERVER_URL = os.environ.get("SPOTIFY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")


def server_connection(url: str = MYSQL_SERVER_URL) -> pymysql.Connection:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        autocommit=True,
        connect_timeout=5,
    )


@contextmanager
def fresh_database() -> Iterator[str]:
    """URL of a new, uniquely named database on the test server, dropped afterwards."""
    name = f"test_warehouse_{uuid.uuid4().hex[:10]}"
    connection = server_connection()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"{MYSQL_SERVER_URL.rstrip('/')}/{name}"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()


@pytest.fixture(scope="module")
def mysql_database_url() -> Iterator[str]:
    """One database for the whole test module."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def fresh_mysql_url() -> Iterator[str]:
    """One database for one test."""
    with fresh_database() as url:
        yield url
