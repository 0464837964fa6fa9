"""The declarations of the platform's tables, one module per layer: `ingest`, `model`, `enrich`, and
`columns` for what several layers share.

Import them from `spotify_assets.tables`, the one index of every table, which also holds the
ordered collections (lake, warehouse, star schema) and checks the foreign keys across layers.
These modules import only `table_spec` and `columns`, never `tables`, so the index imports them
without a cycle.
"""
