"""The warehouse over TLS, as AWS RDS with `require_secure_transport` is reached.

The test starts its own MariaDB (`mariadb-install-db` into a temporary data directory, then
`/usr/sbin/mariadbd` on a free loopback port, stopped afterwards) with a server certificate from a
throw-away CA made with `openssl`, and a user that `REQUIRE SSL`:
- `?ssl_ca=<the CA>&ssl_verify=true` connects verified and publishes;
- another CA is refused with a message that says so, without the password;
- a plain connection for that user (`?ssl_disabled=true`) is refused.
Debian packages: mariadb-server (mariadbd, mariadb-install-db) and openssl.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from spotify_assets.resources.warehouse import PublishRequest, Warehouse, WarehouseError, read_lake_table
from spotify_assets.tables import WAREHOUSE_TABLES

from .mariadb_server import TOOLS, mariadb_server, run
from .warehouse_data import write_lake

pytestmark = pytest.mark.mysql

PASSWORD = "Tls-S3cret-Pass"


def make_certificates(folder: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated second CA."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for name in ("ca", "other_ca"):
        run(
            "openssl",
            "req",
            "-x509",
            *ec,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-subj",
            f"/CN=spotify-assets test {name}",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            cwd=folder,
        )
    run(
        "openssl",
        "req",
        *ec,
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=folder,
    )
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    run(
        "openssl",
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        cwd=folder,
    )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory) -> Iterator[tuple[int, Path]]:
    """(port, certificate folder) of a MariaDB that requires TLS for `tls_user`."""
    missing = [tool for tool in (*TOOLS, "openssl") if not shutil.which(tool)]
    if missing:
        message = f"needs {', '.join(missing)} (Debian: mariadb-server, openssl)"
        pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)
    folder = tmp_path_factory.mktemp("tls")
    make_certificates(folder)
    certificates = (
        f"--ssl-ca={folder / 'ca.pem'}",
        f"--ssl-cert={folder / 'server.pem'}",
        f"--ssl-key={folder / 'server.key'}",
    )
    with mariadb_server(folder, "--innodb-buffer-pool-size=32M", *certificates) as (port, admin):
        with admin.cursor() as cursor:
            cursor.execute("CREATE USER 'tls_user'@'%%' IDENTIFIED BY %s REQUIRE SSL", (PASSWORD,))
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO 'tls_user'@'%'")
        yield port, folder


def url(port: int, query: str = "") -> str:
    return f"mysql://tls_user:{PASSWORD}@127.0.0.1:{port}/spotify{query}"


def test_a_verified_tls_connection_publishes(tls_server, tmp_path):
    port, certificates = tls_server
    lake_uri = str(tmp_path / "lake")
    write_lake(lake_uri)
    warehouse = Warehouse(url=url(port, f"?ssl_ca={certificates / 'ca.pem'}&ssl_verify=true"))
    report = warehouse.publish(
        PublishRequest(tables=tuple(read_lake_table(lake_uri, spec) for spec in WAREHOUSE_TABLES))
    )
    assert {outcome.action for outcome in report.tables.values()} == {"full"}
    assert (
        warehouse.query("SELECT COUNT(*) FROM fact_streams")[0][0] == report.tables["fact_streams"].row_count
    )
    cipher = dict(warehouse.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'"))["Ssl_cipher"]
    assert cipher, "the session is not encrypted"
    warehouse.close()


def test_a_certificate_from_another_ca_is_refused_clearly(tls_server):
    port, certificates = tls_server
    warehouse = Warehouse(url=url(port, f"?ssl_ca={certificates / 'other_ca.pem'}&ssl_verify=true"))
    with pytest.raises(WarehouseError) as raised:
        warehouse.query("SELECT 1")
    message = str(raised.value)
    assert "TLS certificate was refused" in message and "other_ca.pem" in message
    assert f"mysql://tls_user:***@127.0.0.1:{port}/spotify" in message
    assert PASSWORD not in message and raised.value.__cause__ is None


def test_a_plain_connection_is_refused_for_a_user_that_requires_tls(tls_server):
    port, _ = tls_server
    warehouse = Warehouse(url=url(port, "?ssl_disabled=true"))
    with pytest.raises(WarehouseError) as raised:
        warehouse.query("SELECT 1")
    message = str(raised.value)
    assert "access denied" in message and "requires TLS" in message
    assert PASSWORD not in message


def test_without_a_ca_the_driver_encrypts_but_verifies_nothing(tls_server):
    """What a URL without ssl_ca gets (pymysql's "preferred" mode): TLS, so the user that requires
    it gets in, with a certificate from a CA nothing trusts: not checked. Hence ssl_ca and
    ssl_verify for RDS."""
    port, _ = tls_server
    warehouse = Warehouse(url=url(port))
    assert dict(warehouse.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'"))["Ssl_cipher"]
    warehouse.close()
