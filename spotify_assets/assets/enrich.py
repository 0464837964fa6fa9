"""Enrichment from the Spotify Web API: album covers and track metadata, one step per landing file.

One `GET /v1/tracks/{id}` answer serves both tables: the album's cover is in the track object, so
one step (`spotify_lookup`) writes `album_art` and `track_metadata` for a partition together, asks
first for one track per album still without a cover and then for the other tracks, most-played
first, and a quota stop stores both tables consistently. The asset decides what to ask for
(transforms/lookup_plan.py); the `spotify` resource decides how hard to ask (timeouts, retries,
quota).
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from ..check_bundle import Check, CheckRun, bundle
from ..checks import table_checks
from ..io_managers.delta import scan_table
from ..io_managers.location import Lake
from ..partitions import landing_files
from ..resources.lake import LakeResource
from ..resources.spotify import FOUND, NOT_FOUND, PENDING, SpotifyApi, TrackLookup
from ..tables import ALBUM_ART, DIM_ALBUM, DIM_TRACK, FACT_STREAMS, PARTITION_COLUMN, TRACK_METADATA
from ..transforms.lookup_plan import (
    album_members,
    album_states,
    fact_plays,
    ids_to_ask,
    music_track_ids,
    music_track_plays,
    music_tracks,
    needs_lookup,
    partition_albums,
    partition_tracks,
    pending_summary,
    track_states,
)
from .common import ENRICH, LAKE_IO_MANAGER, OWNERS, table_metadata

__all__ = ["build_spotify_lookup", "enrich_checks", "pending_lookups", "spotify_lookup"]

DEFAULT_COVERAGE_THRESHOLD = 0.8
SPOTIFY_API_POOL = "spotify_api"  # limit it to 1 so two partitions never double the call rate

# Quota stops are retried after ~2, 4, 8 minutes (each +/- jitter); a Retry-After of hours is left
# to the next scheduled run or backfill, since each retry costs only the one call that gets the 429.
SPOTIFY_LOOKUP_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=120, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def _out(spec, description: str) -> dg.AssetOut:
    return dg.AssetOut(
        description=description,
        io_manager_key=LAKE_IO_MANAGER,
        metadata=table_metadata(spec),
        kinds={"spotify", "delta"},
        owners=OWNERS,
        group_name=ENRICH,
    )


def build_spotify_lookup(
    *, retry_policy: dg.RetryPolicy = SPOTIFY_LOOKUP_RETRY_POLICY
) -> dg.AssetsDefinition:
    """The spotify_lookup step with `retry_policy` (tests use a short one: in-process runs sleep it)."""

    @dg.multi_asset(
        name="spotify_lookup",
        partitions_def=landing_files,
        outs={
            ALBUM_ART.name: _out(
                ALBUM_ART,
                (
                    "One row per music album introduced by the partition's landing file: its cover art "
                    "(found, not_found or pending) from the Spotify Web API."
                ),
            ),
            TRACK_METADATA.name: _out(
                TRACK_METADATA,
                (
                    "One row per Spotify track id whose earliest play is in the partition's landing file: "
                    "what GET /v1/tracks/{id} answered (raw JSON kept, ISRC, duration, release date, artist "
                    "ids, cover) and its lookup status."
                ),
            ),
        },
        ins={name: dg.AssetIn(name) for name in (DIM_ALBUM.name, DIM_TRACK.name, FACT_STREAMS.name)},
        pool=SPOTIFY_API_POOL,
        retry_policy=retry_policy,
        can_subset=False,
    )
    def spotify_lookup(
        context: dg.AssetExecutionContext,
        dim_album: pl.LazyFrame,
        dim_track: pl.LazyFrame,
        fact_streams: pl.LazyFrame,
        lake: LakeResource,
        spotify: SpotifyApi,
    ):
        """Looks up what the partition owns and has no answer for: one call per album without a
        cover, then its other tracks most-played first. `found` is never asked again, `not_found` (a
        real 404) only after `not_found_retry_days`, `pending` always. When the quota runs out (or
        calls stay unanswered after repeated errors) the rows fetched so far are stored first, then
        the step fails with the reason ("quota exhausted; retry after HH:MM UTC", the time also in
        the `retry_after_utc` metadata) so its retry policy or a later run resumes. Without
        credentials nothing is called: what is new stays `pending`, with a warning.
        """
        partition = context.partition_key
        now = datetime.now(UTC)
        days = spotify.not_found_retry_days
        stored_tracks = lake.scan(TRACK_METADATA)
        played = fact_plays(fact_streams).collect().lazy()
        tracks = track_states(music_tracks(dim_track, played, dim_album), stored_tracks).collect()
        members = album_members(dim_track, played).collect()
        albums = album_states(dim_album, lake.scan(ALBUM_ART)).collect()
        to_ask = ids_to_ask(tracks, members, albums, partition=partition, now=now, not_found_retry_days=days)
        owned = tracks.filter(pl.col("owner") == partition).height
        context.log.info(
            f"{partition}: {owned} tracks owned, {owned - len(to_ask)} answered, {len(to_ask)} to look up"
        )

        lookup = spotify.fetch_tracks(track_ids=to_ask, logger=context.log)
        track_rows = partition_tracks(tracks, stored_tracks, lookup.tracks, partition=partition)
        after = track_states(
            tracks.lazy().select("track_id", "track_key", "plays", "first_landing_file"),
            pl.concat(
                [
                    stored_tracks.filter(pl.col(PARTITION_COLUMN) != partition).select(
                        TRACK_METADATA.column_names
                    ),
                    TRACK_METADATA.conform(
                        track_rows.lazy().with_columns(pl.lit(partition).alias(PARTITION_COLUMN))
                    ),
                ]
            ),
        ).collect()
        album_rows = partition_albums(albums, after, members, partition=partition)

        metadata = _lookup_metadata(lookup, albums=album_rows, tracks=track_rows)
        yield dg.Output(album_rows, output_name=ALBUM_ART.name, metadata=metadata)
        yield dg.Output(track_rows, output_name=TRACK_METADATA.name, metadata=metadata)
        if lookup.stop_reason:
            raise dg.Failure(
                description=f"spotify_lookup {partition}: {lookup.stop_reason}; fetched rows are stored",
                metadata=_stop_metadata(lookup),
                allow_retries=lookup.retryable and spotify.retry_quota_stops,
            )

    return spotify_lookup


spotify_lookup = build_spotify_lookup()


def _counts(frame: pl.DataFrame, prefix: str) -> dict:
    statuses = frame["status"].value_counts()
    count = dict(zip(statuses["status"].to_list(), statuses["count"].to_list(), strict=True))
    return {f"{prefix}{status}": count.get(status, 0) for status in (FOUND, NOT_FOUND, PENDING)}


def _stop_metadata(lookup: TrackLookup) -> dict:
    metadata: dict = {"stop_reason": lookup.stop_reason} if lookup.stop_reason else {}
    if lookup.retry_after is not None:
        metadata["retry_after_utc"] = lookup.retry_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    return metadata


def _lookup_metadata(lookup: TrackLookup, *, albums: pl.DataFrame, tracks: pl.DataFrame) -> dict:
    stats = lookup.stats
    metadata = {
        "albums": albums.height,
        **_counts(albums, ""),
        "tracks": tracks.height,
        **_counts(tracks, "tracks_"),
        "looked_up": lookup.tracks.height,
        "api_calls": stats.calls,
        "token_requests": stats.token_requests,
        "http_429s": stats.http_429s,
        "retries": stats.retries,
        "endpoint": stats.endpoint,
        "elapsed_seconds": stats.elapsed_seconds,
        **_stop_metadata(lookup),
    }
    if lookup.warnings:
        metadata["warning"] = "; ".join(lookup.warnings)
    return metadata


def pending_lookups(lake_uri: Lake, *, not_found_retry_days: int = 30, now: datetime | None = None) -> dict:
    """What the Spotify lookup still owes, read from the lake without Dagster (for the CLI summary).

    {"albums_pending": music albums without an answer yet, "tracks_pending": track ids without an
    answer yet, "partitions": landing files whose spotify_lookup has something to do (pending, never
    looked up, or not_found older than `not_found_retry_days`)}. When the quota allows the next try is
    in the failed step's `retry_after_utc` metadata.
    """

    def scan(spec) -> pl.LazyFrame:
        return scan_table(lake_uri, spec)

    now = now or datetime.now(UTC)
    dim_track, fact, stored = scan(DIM_TRACK), scan(FACT_STREAMS), scan(TRACK_METADATA)
    # The fact is read only where the answer depends on it (it is the cost at 10M plays): the
    # earliest play's file owns a track id with no stored row yet (every play of such an id is
    # kept), and plays make an album a member only when dim_track does not already
    music = music_track_ids(dim_track)
    unstored = music.join(stored.select("track_id"), on="track_id", how="anti").select("track_key")
    tracks = track_states(
        music_tracks(dim_track, fact_plays(fact.join(unstored, on="track_key", how="semi")), scan(DIM_ALBUM)),
        stored,
    ).collect()
    albums = album_states(scan(DIM_ALBUM), scan(ALBUM_ART)).collect()
    due = albums.filter(needs_lookup(now=now, not_found_retry_days=not_found_retry_days))
    known = music.select("album_key", "track_id").collect()
    unknown = due.select("album_key").join(known, on="album_key", how="anti")
    played = album_members(
        dim_track, fact_plays(fact.join(unknown.lazy(), on="album_key", how="semi"))
    ).collect()
    members = pl.concat([known, played]).unique()
    return pending_summary(tracks, members, albums, now=now, not_found_retry_days=not_found_retry_days)


def _album_art_coverage(threshold: float) -> Check:
    def evaluate(run: CheckRun) -> dg.AssetCheckResult:
        art = run.scan(ALBUM_ART).select("status", "image_url_large")
        found = pl.col("status") == FOUND
        counts = (
            art.select(
                pl.len().alias("albums"),
                (found & pl.col("image_url_large").is_not_null()).sum().alias("with_art"),
                (pl.col("status") == PENDING).sum().alias("pending"),
            )
            .collect()
            .row(0, named=True)
        )
        albums, with_art = int(counts["albums"]), int(counts["with_art"] or 0)
        coverage = with_art / albums if albums else 1.0
        return dg.AssetCheckResult(
            passed=coverage >= threshold,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "coverage": round(coverage, 4),
                "threshold": threshold,
                "albums": albums,
                "with_art": with_art,
                "pending": int(counts["pending"] or 0),
            },
        )

    spec = dg.AssetCheckSpec(
        "album_art_coverage",
        asset=ALBUM_ART.name,
        description=f"Share of looked-up albums with a cover image; warns under {threshold:.0%}.",
    )
    return Check(spec, evaluate)


def _track_metadata_coverage(threshold: float) -> Check:
    def evaluate(run: CheckRun) -> dg.AssetCheckResult:
        tracks = music_track_plays(run.scan(DIM_TRACK), run.scan(FACT_STREAMS))
        status = run.scan(TRACK_METADATA).select("track_id", "status")
        plays = (
            tracks.join(status, on="track_id", how="left")
            .select(
                pl.col("plays").sum().alias("plays"),
                pl.col("plays").filter(pl.col("status") == FOUND).sum().alias("enriched"),
                (pl.col("status").is_null() | (pl.col("status") == PENDING)).sum().alias("tracks_pending"),
            )
            .collect()
            .row(0, named=True)
        )
        total, enriched = int(plays["plays"] or 0), int(plays["enriched"] or 0)
        coverage = enriched / total if total else 1.0
        return dg.AssetCheckResult(
            passed=coverage >= threshold,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "coverage": round(coverage, 4),
                "threshold": threshold,
                "music_plays": total,
                "enriched_plays": enriched,
                "tracks_pending": plays["tracks_pending"],
            },
        )

    spec = dg.AssetCheckSpec(
        "track_metadata_coverage",
        asset=TRACK_METADATA.name,
        description=f"Share of music plays (with a track id) whose track has metadata; warns under "
        f"{threshold:.0%}.",
        additional_deps=[DIM_TRACK.name, FACT_STREAMS.name, DIM_ALBUM.name],
    )
    return Check(spec, evaluate)


def enrich_checks(
    *, coverage_threshold: float = DEFAULT_COVERAGE_THRESHOLD
) -> list[dg.AssetChecksDefinition]:
    """The checks of the tables spotify_lookup writes, in one step (`spotify_lookup_checks`): the
    primary and foreign keys of album_art and track_metadata (checks.table_checks), and
    `album_art_coverage` (albums with a cover) and `track_metadata_coverage` (music plays whose
    track is enriched), both WARN under `coverage_threshold`."""
    return [
        bundle(
            "spotify_lookup_checks",
            [
                *table_checks(ALBUM_ART),
                _album_art_coverage(coverage_threshold),
                *table_checks(TRACK_METADATA),
                _track_metadata_coverage(coverage_threshold),
            ],
            description="The checks of album_art and track_metadata: keys and coverage.",
        )
    ]
