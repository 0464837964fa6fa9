"""An S3-compatible server on loopback for tests: moto's server, in its own process, with real auth.

The server starts on a port the kernel picks (it prints the URL; the fixture waits for that line).
It enforces credentials: a few first requests create an IAM user and its access key, after which
every request must be signed with that key, so a lake that reached the server with any other
credentials (the default AWS chain, a wrong secret) fails instead of passing unnoticed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3

from spotify_assets.io_managers.location import ClientConfig, LakeLocation, S3Config, lake_location
from spotify_assets.resources.lake import LakeResource
from spotify_assets.settings import Settings

from .requirements import need

need("moto.server", "the dev extra's moto[server]: an S3-compatible server on loopback")

REGION = "us-east-1"
USER = "spotify-lake"
UNSIGNED_SETUP_REQUESTS = 3  # create the user, its key and its policy
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
START_TIMEOUT_S = 60


@dataclass
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    process: subprocess.Popen
    output: deque = field(default_factory=lambda: deque(maxlen=50))

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every object under `prefix`: key -> size in bytes."""
        found: dict[str, int] = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
        return found

    def environment(self) -> dict[str, str]:
        """The settings a lake on this server needs (credentials by the platform's variable names)."""
        return {
            "SPOTIFY_LAKE_ENDPOINT": self.endpoint,
            "SPOTIFY_LAKE_REGION": REGION,
            "SPOTIFY_LAKE_ALLOW_HTTP": "true",
            "SPOTIFY_LAKE_ACCESS_KEY_ID": self.access_key_id,
            "SPOTIFY_LAKE_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def settings(self, lake_uri: str) -> Settings:
        return Settings(
            lake_uri=lake_uri, lake_endpoint=self.endpoint, lake_region=REGION, lake_allow_http=True
        )

    def location(self, lake_uri: str, secret_access_key: str | None = None) -> LakeLocation:
        """A lake on this server, reached with the user's key (or the given secret)."""
        options = lake_location(self.settings(lake_uri)).storage_options
        credentials = {
            "access_key_id": self.access_key_id,
            "secret_access_key": secret_access_key or self.secret_access_key,
        }
        return LakeLocation(lake_uri, {**options, **credentials})

    def lake_resource(self, lake_uri: str) -> LakeResource:
        """The lake resource as definitions.py builds it, this user's key as plain config (tests only)."""
        storage = S3Config(
            endpoint=self.endpoint,
            region=REGION,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
        )
        return LakeResource(
            lake_uri=lake_uri, storage_options=storage, client_options=ClientConfig(allow_http=True)
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_s3_server() -> S3Server:
    """Start moto's server, create a user with full S3 rights, and return it with that user's key."""
    environment = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(UNSIGNED_SETUP_REQUESTS))
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )
    output: deque = deque(maxlen=50)
    started = threading.Event()
    url: list[str] = []

    def drain() -> None:  # read every line, so the server never blocks on a full pipe
        for line in process.stderr:
            output.append(line.rstrip())
            match = re.search(r"Running on (http://[\d.:]+)", line)
            if match and not started.is_set():
                url.append(match.group(1))
                started.set()
        started.set()  # the process ended

    threading.Thread(target=drain, daemon=True).start()
    if not started.wait(START_TIMEOUT_S) or not url:
        process.kill()
        raise RuntimeError("moto server did not start: " + " | ".join(output))
    iam = boto3.client(
        "iam",
        endpoint_url=url[0],
        region_name=REGION,
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    iam.put_user_policy(UserName=USER, PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
    return S3Server(url[0], key["AccessKeyId"], key["SecretAccessKey"], process, output)


@contextmanager
def s3_with_bucket(bucket: str) -> Iterator[S3Server]:
    """A started server holding the empty bucket `bucket`, stopped on exit (a module fixture's body)."""
    server = start_s3_server()
    try:
        server.create_bucket(bucket)
        yield server
    finally:
        server.stop()
