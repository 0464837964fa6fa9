"""Access to the lake for assets that consult a table they do not take as an input, and the lake lock.

The lock serializes whoever changes the cross-file tables (the model update: exclusive) against
whoever must see them consistent (warehouse publishes, checks: shared), across processes: the
CLI's in-process runs and the daemon's runs on one machine take the same lock file. Ingest steps do
not take it: they only write their own landing file's partitions. On an object-store lake there is
no lock file; the `spotify_model` pool (dagster.yaml) keeps model updates one at a time there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import dagster as dg
import polars as pl

from ..io_managers.delta import scan_table, table_exists, table_uri, write_partitions, write_table
from ..io_managers.locks import file_lock
from ..io_managers.updates import PartitionedUpdate
from ..tables import TableSpec

LAKE_LOCK = "lake"


@contextmanager
def lake_lock(lake_uri: str, *, exclusive: bool) -> Iterator[None]:
    """Hold the lake's lock (exclusive or shared) for the block, waiting for it; a no-op on object stores."""
    if "://" in lake_uri:
        yield
        return
    with file_lock(lake_uri, LAKE_LOCK, exclusive=exclusive):
        yield


class LakeResource(dg.ConfigurableResource):
    """The Delta lake under `SPOTIFY_LAKE_URI`: reads, the lake lock, and the model's bookkeeping writes."""

    lake_uri: str

    def scan(self, spec: TableSpec, partitions: list[str] | None = None) -> pl.LazyFrame:
        return scan_table(self.lake_uri, spec, partitions)

    def exists(self, spec: TableSpec) -> bool:
        return table_exists(table_uri(self.lake_uri, spec.name))

    def write(self, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame | PartitionedUpdate) -> int:
        """Write a bookkeeping table (tables that are assets go through the lake IO manager)."""
        if isinstance(data, PartitionedUpdate):
            return write_partitions(self.lake_uri, spec, data)
        return write_table(self.lake_uri, spec, data)

    def read_lock(self) -> AbstractContextManager[None]:
        """Shared: the cross-file tables stay as they are while the block reads them."""
        return lake_lock(self.lake_uri, exclusive=False)

    def write_lock(self) -> AbstractContextManager[None]:
        """Exclusive: the block is the only one changing or reading the cross-file tables."""
        return lake_lock(self.lake_uri, exclusive=True)
