"""The Definitions load, and every asset shows the UI what it is."""

import dagster as dg

from spotify_assets.definitions import defs
from spotify_assets.tables import LAKE_TABLES

LAKE_ASSETS = {spec.name for spec in LAKE_TABLES}


def test_definitions_load_and_name_every_lake_table():
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert LAKE_ASSETS - {"album_art"} <= keys
    dg.Definitions.validate_loadable(defs)


def test_every_asset_has_a_description_group_owner_and_column_schema():
    for spec in defs.resolve_all_asset_specs():
        name = spec.key.to_user_string()
        assert spec.description and len(spec.description) > 20, name
        assert spec.group_name in {"ingest", "model", "enrich", "warehouse", "report"}, name
        assert spec.owners, name
        assert spec.kinds, name
        if name in LAKE_ASSETS:
            assert "dagster/column_schema" in spec.metadata, name


def test_jobs_the_cli_and_ui_use_exist():
    for job in ("everything", "ingest_file", "refresh_model"):
        assert defs.resolve_job_def(job) is not None
