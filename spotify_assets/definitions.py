"""The one Definitions object: every asset, check, job, sensor and resource of the platform.

Resources are chosen here, once, from the SPOTIFY_* settings (see settings.py); assets never
branch on the deployment profile.
"""

from __future__ import annotations

import os

import dagster as dg

from .assets.common import ENRICH, INGEST, MODEL, REPORT, WAREHOUSE
from .assets.enrich import enrich_checks, spotify_lookup
from .assets.ingest import cleaned_plays, raw_plays
from .assets.model import star_schema
from .assets.publish import warehouse_assets, warehouse_checks
from .assets.report import listening_report
from .automation import automation_sensor, refresh_album_art_schedule, with_automation
from .checks import lake_checks
from .instance_rules import INGEST_CONCURRENCY_TAG
from .io_managers.delta import DeltaLakeIOManager
from .io_managers.location import client_config, storage_config
from .io_managers.warehouse import WarehouseIOManager
from .maintenance import maintenance_job, maintenance_schedule
from .resources.engine import PolarsEngine, TransformEngine
from .resources.lake import LakeResource
from .resources.landing import LandingFolder
from .resources.report import ReportFolder
from .resources.spotify import spotify_api_from_env
from .resources.warehouse import Warehouse
from .sensors import landing_sensor
from .settings import Settings

INGEST_SELECTION = dg.AssetSelection.assets(raw_plays, cleaned_plays)

everything_job = dg.define_asset_job(
    "everything", selection=dg.AssetSelection.all(), description="Materialize every asset."
)
lake_job = dg.define_asset_job(
    "lake",
    selection=dg.AssetSelection.groups(INGEST, MODEL, ENRICH),
    description="Materialize the lake only (ingest, model, album art) with its checks; no warehouse, "
    "no report.",
)
refresh_model_job = dg.define_asset_job(
    "refresh_model",
    selection=dg.AssetSelection.groups(MODEL, WAREHOUSE, REPORT),
    description="Rebuild the star schema and everything published from it, from the lake as it is.",
)
refresh_album_art_job = dg.define_asset_job(
    "refresh_album_art",
    selection=dg.AssetSelection.assets(spotify_lookup),
    description="Spotify lookups of one landing file still due: album covers first, then track metadata.",
)
rebuild_model_job = dg.define_asset_job(
    "rebuild_model",
    selection=dg.AssetSelection.groups(MODEL, WAREHOUSE, REPORT),
    config={"ops": {"star_schema": {"config": {"rebuild": True}}}},
    description="Rebuild the star schema from every file's clean_plays (the reference the incremental "
    "updates equal), and publish it.",
)
publish_job = dg.define_asset_job(
    "publish",
    selection=dg.AssetSelection.groups(WAREHOUSE, REPORT),
    description="Publish the lake to the warehouse and write the report, from the lake as it is.",
)
ingest_file_job = dg.define_asset_job(
    "ingest_file",
    selection=INGEST_SELECTION,
    tags={INGEST_CONCURRENCY_TAG: "ingest_file"},
    description="Read one landing file into raw_plays, clean_plays, rejected_plays and file_accounting.",
)


def build_engine(settings: Settings) -> TransformEngine:
    """The profile's transformation engine (spark and databricks need their extras installed)."""
    if settings.engine == "spark":
        from dagster_pyspark import LazyPySparkResource

        from .resources.spark_engine import LOCAL_SPARK_CONFIG, SparkEngine

        return SparkEngine(
            timezone=settings.timezone,
            overrides_path=settings.track_overrides,
            pyspark=LazyPySparkResource(spark_config=LOCAL_SPARK_CONFIG),
        )
    if settings.engine == "databricks":
        from .resources.databricks_engine import DatabricksEngine

        return DatabricksEngine(
            timezone=settings.timezone,
            overrides_path=settings.track_overrides,
            lake_uri=settings.lake_uri,
            host=dg.EnvVar("DATABRICKS_HOST"),
            token=dg.EnvVar("DATABRICKS_TOKEN"),
            job_script=dg.EnvVar("SPOTIFY_DATABRICKS_JOB_SCRIPT"),
            package_wheel=dg.EnvVar("SPOTIFY_DATABRICKS_WHEEL"),
        )
    return PolarsEngine(timezone=settings.timezone, overrides_path=settings.track_overrides)


def build_resources(settings: Settings, *, interactive: bool = False) -> dict:
    """The resources of one deployment profile; `interactive` (the CLI) never waits out a retry delay."""
    # the URL may carry a password: from the environment it stays an EnvVar, out of the UI and run config
    from_env = os.environ.get("SPOTIFY_WAREHOUSE_URL") == settings.warehouse_url
    url = dg.EnvVar("SPOTIFY_WAREHOUSE_URL") if from_env else settings.warehouse_url
    warehouse = Warehouse(url=url, listen_rule=settings.listen_rule)
    # where the lake is and how to reach it, chosen once: credentials stay EnvVars (names, not values)
    storage, client = storage_config(settings), client_config(settings)
    return {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "lake_io_manager": DeltaLakeIOManager(
            lake_uri=settings.lake_uri, storage_options=storage, client_options=client
        ),
        "lake": LakeResource(lake_uri=settings.lake_uri, storage_options=storage, client_options=client),
        "landing": LandingFolder(path=settings.landing_dir, csv_date_order=settings.csv_date_order),
        "engine": build_engine(settings),
        "spotify": spotify_api_from_env(retry_quota_stops=not interactive),
        "report_folder": ReportFolder(
            path=settings.report_dir, timezone=settings.timezone, listen_rule=settings.listen_rule
        ),
    }


def build_definitions(settings: Settings, *, interactive: bool = False) -> dg.Definitions:
    """The platform for one profile: the UI loads `defs`; `spotify-assets run` builds it interactive."""
    maintain_lake_job = maintenance_job(settings.lake_retention_hours)
    resources = build_resources(settings, interactive=interactive)
    return dg.Definitions(
        assets=with_automation(
            [raw_plays, cleaned_plays, star_schema, spotify_lookup, *warehouse_assets, listening_report],
            model_version=resources["engine"].model_settings().key,
        ),
        asset_checks=[*lake_checks, *enrich_checks(), *warehouse_checks],
        jobs=[
            everything_job,
            lake_job,
            ingest_file_job,
            refresh_model_job,
            rebuild_model_job,
            publish_job,
            refresh_album_art_job,
            maintain_lake_job,
        ],
        schedules=[refresh_album_art_schedule, maintenance_schedule(maintain_lake_job, settings.timezone)],
        sensors=[landing_sensor, automation_sensor],
        resources=resources,
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
