"""Enrichment from the Spotify Web API: album covers.

The asset decides what to ask for (the albums a landing file introduced that have no art yet);
the `spotify` resource decides how hard to ask (timeouts, retries, quota).
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

from ..partitions import landing_files
from .common import ENRICH, LAKE_IO_MANAGER, OWNERS, table_metadata
from ..resources.lake import LakeResource
from ..resources.spotify import FOUND, NOT_FOUND, PENDING, AlbumArtLookup, SpotifyApi
from ..tables import ALBUM_ART, PARTITION_COLUMN

MUSIC_CONTENT_TYPE = "track"
DEFAULT_COVERAGE_THRESHOLD = 0.8
SPOTIFY_API_POOL = "spotify_api"  # limit it to 1 so two partitions never double the call rate
ART_COLUMNS = [name for name in ALBUM_ART.column_names if name != PARTITION_COLUMN]


def partition_albums(dim_album: pl.LazyFrame, album_art: pl.LazyFrame, *, partition: str) -> pl.DataFrame:
    """The music albums `partition` holds, with their cached art (null when never looked up).

    An album belongs to the partition that already holds it in album_art, otherwise to the landing
    file that introduced it; so each album_key lives in exactly one partition of album_art.
    """
    music = dim_album.filter(pl.col("content_type") == MUSIC_CONTENT_TYPE).select(
        "album_key", "sample_track_id", "first_landing_file"
    )
    owned = music.join(album_art.select(ALBUM_ART.column_names), on="album_key", how="left").filter(
        pl.coalesce(PARTITION_COLUMN, "first_landing_file") == partition
    )
    return owned.sort("album_key").collect()


def needs_lookup(*, now: datetime, not_found_retry_days: int) -> pl.Expr:
    """Never looked up, pending, or not_found for longer than `not_found_retry_days`."""
    status = pl.col("status")
    fetched_at = pl.col("fetched_at")
    stale = fetched_at.is_null() | (fetched_at < now - timedelta(days=not_found_retry_days))
    return status.is_null() | (status == PENDING) | ((status == NOT_FOUND) & stale)


def merge_lookup(albums: pl.DataFrame, lookup: pl.DataFrame) -> pl.DataFrame:
    """album_art rows for `albums` from the per-track lookup (joined on the sample track)."""
    return albums.select("album_key", "sample_track_id").join(
        lookup, left_on="sample_track_id", right_on="track_id", how="left"
    ).with_columns(pl.col("status").fill_null(PENDING)).select(ART_COLUMNS)


# Quota stops are retried after ~2, 4, 8 minutes (each +/- jitter); a Retry-After of hours is left
# to the next scheduled run or backfill, since each retry costs only the one call that gets the 429.
ALBUM_ART_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=120, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def build_album_art(*, retry_policy: dg.RetryPolicy = ALBUM_ART_RETRY_POLICY) -> dg.AssetsDefinition:
    """The album_art asset with `retry_policy` (tests use a short one: in-process runs sleep it)."""

    @dg.asset(
        name=ALBUM_ART.name,
        partitions_def=landing_files,
        group_name=ENRICH,
        io_manager_key=LAKE_IO_MANAGER,
        kinds={"spotify", "delta"},
        owners=OWNERS,
        pool=SPOTIFY_API_POOL,
        retry_policy=retry_policy,
        metadata=table_metadata(ALBUM_ART),
    )
    def album_art(
        context: dg.AssetExecutionContext, dim_album: pl.LazyFrame, lake: LakeResource, spotify: SpotifyApi
    ):
        """One row per music album introduced by the partition's landing file: its cover art.

        Looks up only albums without art (one call per album, through its sample track): `found` is
        never asked again, `not_found` only after `not_found_retry_days`, `pending` always. When the
        quota runs out (or albums stay unanswered after repeated errors) the rows fetched so far are
        stored first, then the step fails with the reason ("quota exhausted; retry after HH:MM UTC")
        so its retry policy or a later run resumes. Without credentials nothing is called: new
        albums stay `pending` and the materialization carries a warning.
        """
        partition = context.partition_key
        albums = partition_albums(dim_album, lake.scan(ALBUM_ART), partition=partition)
        now = datetime.now(UTC)
        stale = needs_lookup(now=now, not_found_retry_days=spotify.not_found_retry_days)
        to_fetch = albums.filter(stale)
        cached = albums.filter(~stale).select(ART_COLUMNS)
        context.log.info(
            f"{albums.height} albums in {partition}: {cached.height} cached, {to_fetch.height} to look up"
        )

        track_ids = to_fetch["sample_track_id"].to_list()
        lookup = spotify.fetch_album_art(track_ids=track_ids, logger=context.log)
        rows = pl.concat([cached, merge_lookup(to_fetch, lookup.tracks)]).sort("album_key")
        yield dg.Output(rows, metadata=_lookup_metadata(rows, lookup, cache_hits=cached.height))
        if lookup.stop_reason:
            raise dg.Failure(
                description=f"album_art {partition}: {lookup.stop_reason}; fetched rows are stored",
                allow_retries=lookup.retryable and spotify.retry_quota_stops,
            )

    return album_art


album_art = build_album_art()


def _lookup_metadata(rows: pl.DataFrame, lookup: AlbumArtLookup, *, cache_hits: int) -> dict:
    statuses = rows["status"].value_counts()
    count = dict(zip(statuses["status"].to_list(), statuses["count"].to_list(), strict=True))
    stats = lookup.stats
    metadata = {
        "albums": rows.height,
        "found": count.get(FOUND, 0),
        "not_found": count.get(NOT_FOUND, 0),
        "pending": count.get(PENDING, 0),
        "looked_up": lookup.tracks.height,
        "cache_hits": cache_hits,
        "api_calls": stats.calls,
        "token_requests": stats.token_requests,
        "http_429s": stats.http_429s,
        "retries": stats.retries,
        "endpoint": stats.endpoint,
        "elapsed_seconds": stats.elapsed_seconds,
    }
    if lookup.stop_reason:
        metadata["stop_reason"] = lookup.stop_reason
    if lookup.warnings:
        metadata["warning"] = "; ".join(lookup.warnings)
    return metadata


def album_art_checks(
    *, coverage_threshold: float = DEFAULT_COVERAGE_THRESHOLD
) -> list[dg.AssetChecksDefinition]:
    """The album_art checks for Definitions: `album_art_coverage` warns under `coverage_threshold`."""

    @dg.asset_check(
        asset=album_art,
        name="album_art_coverage",
        description=f"Share of looked-up albums with a cover image; warns under {coverage_threshold:.0%}.",
    )
    def album_art_coverage(lake: LakeResource) -> dg.AssetCheckResult:
        art = lake.scan(ALBUM_ART).select("status", "image_url_large").collect()
        with_art = art.filter((pl.col("status") == FOUND) & pl.col("image_url_large").is_not_null()).height
        coverage = with_art / art.height if art.height else 1.0
        return dg.AssetCheckResult(
            passed=coverage >= coverage_threshold,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "coverage": round(coverage, 4),
                "threshold": coverage_threshold,
                "albums": art.height,
                "with_art": with_art,
                "pending": art.filter(pl.col("status") == PENDING).height,
            },
        )

    return [album_art_coverage]
