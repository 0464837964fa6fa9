"""What a writer hands the lake IO manager for a table stored in per-landing-file partitions."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class PartitionedUpdate:
    """Replace the partitions in `frames` (landing_file -> its rows) and drop those in `removed`,
    in one Delta transaction. With `replace_all`, every other partition is dropped too (a rebuild)."""

    frames: dict[str, pl.DataFrame | pl.LazyFrame] = field(default_factory=dict)
    removed: tuple[str, ...] = ()
    replace_all: bool = False

    @property
    def touched(self) -> list[str]:
        return sorted({*self.frames, *self.removed})

    def is_empty(self) -> bool:
        return not self.frames and not self.removed and not self.replace_all
