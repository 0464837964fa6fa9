"""Access to the lake for assets that consult a table they do not take as an input, and the lake lock.

The lock serializes whoever changes the cross-file tables (the model update: exclusive) against
whoever must see them consistent (warehouse publishes, checks: shared), across processes: the
CLI's in-process runs and the daemon's runs on one machine take the same lock file. Ingest steps do
not take it: they only write their own landing file's partitions.

On an object-store lake (`s3://...`) there is no lock file and the lock is a no-op. What keeps model
updates (and `maintain_lake`) one at a time there is the `spotify_model` Dagster pool with a limit
of 1 (the instance's dagster.yaml), which every run on that instance obeys, whoever starts it; two
Dagster instances on one lake must not both run model updates. Delta's commit protocol still makes
each write atomic: a concurrent commit is detected (conditional put), never silently overwritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import dagster as dg
import polars as pl
from pydantic import Field

from ..io_managers.delta import (
    open_table,
    rows_per_partition,
    scan_table,
    table_exists,
    write_partitions,
    write_table,
)
from ..io_managers.lake_table import LakeTable, read_lake_table
from ..io_managers.location import (
    ClientConfig,
    LakeLocation,
    LocalConfig,
    StorageConfig,
    is_remote,
    storage_options,
)
from ..io_managers.locks import file_lock
from ..io_managers.updates import PartitionedUpdate
from ..tables import TableSpec

LAKE_LOCK = "lake"


@contextmanager
def lake_lock(lake_uri: str, *, exclusive: bool) -> Iterator[None]:
    """Hold the lake's lock (exclusive or shared) for the block, waiting for it; a no-op on object stores."""
    if is_remote(lake_uri):
        yield
        return
    with file_lock(lake_uri, LAKE_LOCK, exclusive=exclusive):
        yield


class LakeResource(dg.ConfigurableResource):
    """The Delta lake under `SPOTIFY_LAKE_URI`: reads, the lake lock, and the model's bookkeeping writes.

    `storage_options` / `client_options` are the same configs the lake IO manager gets.
    """

    lake_uri: str
    storage_options: StorageConfig = Field(default_factory=LocalConfig, discriminator="provider")
    client_options: ClientConfig | None = None

    @property
    def location(self) -> LakeLocation:
        return LakeLocation(self.lake_uri, storage_options(self.storage_options, self.client_options))

    def scan(self, spec: TableSpec, partitions: list[str] | None = None) -> pl.LazyFrame:
        return scan_table(self.location, spec, partitions)

    def exists(self, spec: TableSpec) -> bool:
        return table_exists(self.location, spec.name)

    def rows_per_partition(self, spec: TableSpec) -> dict[str, int]:
        """Rows per landing file of the current version, from the Delta log (a never-written table: none)."""
        if not self.exists(spec):
            return {}
        return rows_per_partition(open_table(self.location, spec.name), spec)

    def current_version(self, spec: TableSpec) -> LakeTable:
        """The table's current version with its partitions' markers and rows, from the Delta log."""
        return read_lake_table(self.location, spec)

    def write(self, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame | PartitionedUpdate) -> int:
        """Write a bookkeeping table (tables that are assets go through the lake IO manager)."""
        if isinstance(data, PartitionedUpdate):
            return write_partitions(self.location, spec, data)
        return write_table(self.location, spec, data)

    def read_lock(self) -> AbstractContextManager[None]:
        """Shared: the cross-file tables stay as they are while the block reads them."""
        return lake_lock(self.lake_uri, exclusive=False)

    def write_lock(self) -> AbstractContextManager[None]:
        """Exclusive: the block is the only one changing or reading the cross-file tables."""
        return lake_lock(self.lake_uri, exclusive=True)
