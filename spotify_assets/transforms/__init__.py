"""Pure transformations on Polars frames: no Dagster imports, unit-tested on handwritten rows."""
