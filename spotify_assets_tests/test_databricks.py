"""`DatabricksEngine` against a fake Databricks workspace on loopback.

The fake answers exactly the REST calls dagster-databricks' `PipesDatabricksClient` and the SDK
make (DBFS mkdirs/put/get-status/read/delete for the Pipes context and messages, jobs runs/submit,
runs/get, runs/get-output) and plays the remote job (`databricks_job.py`) with the Polars twins of
its Spark transforms: on success it writes the step's tables into the lake (a partition's
clean_plays and rejected_plays; a file's members or fact rows into its staging folder) and Pipes
messages into its DBFS, on failure it reports the task's error. That the Spark transforms equal
the Polars ones is `test_spark_parity.py`'s job.
"""

import base64
import json
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import polars as pl
import pytest
from dagster_pipes import decode_param
from polars.testing import assert_frame_equal

from spotify_assets_tests.requirements import need

need("dagster_databricks", "the databricks extra")

from spotify_assets import sample  # noqa: E402
from spotify_assets.adapters.databricks import DatabricksRunFailed, RecordingWorkspaceClient, run_task  # noqa: E402
from spotify_assets.assets.ingest import file_reads_row  # noqa: E402
from spotify_assets.databricks_staging import (  # noqa: E402
    EXCLUDED_PLAYS,
    FILE_FACTS,
    FILE_MEMBERS,
    TRACK_KEYS,
    staging_folder,
)
from spotify_assets.io_managers.delta import LakeTables, scan_table, write_table  # noqa: E402
from spotify_assets.io_managers.updates import PartitionedUpdate  # noqa: E402
from spotify_assets.resources.databricks_engine import DatabricksEngine  # noqa: E402
from spotify_assets.resources.engine import PolarsEngine, TransformEngine  # noqa: E402
from spotify_assets.tables import CLEAN_PLAYS, FILE_READS, REJECTED_PLAYS  # noqa: E402
from spotify_assets.transforms.clean import clean_plays  # noqa: E402
from spotify_assets.transforms.model_update import ModelUpdate, PolarsPlays  # noqa: E402
from spotify_assets.transforms.parse import read_history  # noqa: E402
from spotify_assets_tests import exports, hostile  # noqa: E402

LANDING_FILE = "hostile-0123456789ab"
TOKEN = "dapi-test-token"
REMOTE_ERROR = "ValueError: raw_plays partition 'hostile-0123456789ab' has no column ts"


class FakeWorkspace:
    """State of the fake workspace: its DBFS, the runs submitted, and how the next run ends."""

    def __init__(self, lake: Path, inputs: Path):
        self.lake, self.inputs = lake, inputs
        self.files: dict[str, bytes] = {}
        self.folders: set[str] = set()
        self.submitted: list[dict] = []
        self.headers: list[dict] = []
        self.fail_with: str | None = None
        self.port = 0

    def run_remote_job(self, task: dict) -> None:
        """What databricks_job.py does in the workspace, played locally with the Polars transforms:
        write the step's tables, then the Pipes messages (a failing job reports its exception in its
        `closed` message, as `open_dagster_pipes` does)."""
        messages = decode_param(task["new_cluster"]["spark_env_vars"]["DAGSTER_PIPES_MESSAGES"])["path"]
        if self.fail_with:
            closed = {
                "exception": {
                    "name": "ValueError",
                    "message": self.fail_with,
                    "stack": [],
                    "cause": None,
                    "context": None,
                }
            }
            self._write_messages(messages, [("closed", closed)])
            return
        step, *options = task["spark_python_task"]["parameters"]
        arguments = dict(zip(options[::2], options[1::2], strict=True))
        assert arguments["--lake"] == str(self.lake)
        reported = self.steps[step](arguments["--landing-file"], arguments["--timezone"])
        self._write_messages(messages, [("report_custom_message", {"payload": reported}), ("closed", {})])

    @property
    def steps(self) -> dict:
        return {"clean": self.clean, "members": self.members, "facts": self.facts}

    def clean(self, landing_file: str, timezone: str) -> dict:
        assert landing_file == LANDING_FILE
        raw = read_history(hostile.write_hostile_csv(self.inputs / "hostile.csv"))
        with tempfile.TemporaryDirectory() as scratch:
            result = clean_plays(raw, Path(scratch))
            write_table(str(self.lake), CLEAN_PLAYS, result.clean, landing_file)
        write_table(str(self.lake), REJECTED_PLAYS, result.rejected, landing_file)
        return {"counts": result.counts}

    def counted_plays(self, landing_file: str) -> pl.LazyFrame:
        excluded = scan_table(staging_folder(str(self.lake), landing_file), EXCLUDED_PLAYS)
        plays = scan_table(str(self.lake), CLEAN_PLAYS, [landing_file])
        return plays.join(excluded, on="play_key", how="anti")

    def members(self, landing_file: str, timezone: str) -> dict:
        frame = PolarsPlays().file_members(self.counted_plays(landing_file))
        return {"rows": write_table(staging_folder(str(self.lake), landing_file), FILE_MEMBERS, frame)}

    def facts(self, landing_file: str, timezone: str) -> dict:
        staging = staging_folder(str(self.lake), landing_file)
        track_keys = scan_table(staging, TRACK_KEYS).collect()
        frame = PolarsPlays().fact_rows(self.counted_plays(landing_file), track_keys, timezone)
        return {"rows": write_table(staging, FILE_FACTS, frame)}

    def _write_messages(self, folder: str, messages: list[tuple[str, dict]]) -> None:
        lines = [("opened", {}), *messages]
        self.files[f"{folder}/1.json"] = "\n".join(
            json.dumps({"__dagster_pipes_version": "0.1", "method": method, "params": params})
            for method, params in lines
        ).encode()

    def run_state(self) -> dict:
        if self.fail_with:
            return {
                "life_cycle_state": "TERMINATED",
                "result_state": "FAILED",
                "state_message": "Workload failed, see run output for details",
            }
        return {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""}


def handler_for(workspace: FakeWorkspace) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _not_found(self, path: str) -> None:
            self._reply(
                404,
                {
                    "error_code": "RESOURCE_DOES_NOT_EXIST",
                    "message": f"No file or directory exists on path {path}.",
                },
            )

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(url.query).items()}
            workspace.headers.append(dict(self.headers))
            if url.path == "/api/2.0/dbfs/get-status":
                path = query["path"]
                if path in workspace.folders or path in workspace.files:
                    return self._reply(
                        200, {"path": path, "is_dir": path in workspace.folders, "file_size": 0}
                    )
                return self._not_found(path)
            if url.path == "/api/2.0/dbfs/read":
                data = workspace.files.get(query["path"])
                if data is None:
                    return self._not_found(query["path"])
                return self._reply(200, {"bytes_read": len(data), "data": base64.b64encode(data).decode()})
            if url.path == "/api/2.2/jobs/runs/get":
                run_id = int(query["run_id"])
                return self._reply(
                    200,
                    {
                        "run_id": run_id,
                        "state": workspace.run_state(),
                        "run_page_url": f"https://fake.cloud.databricks.com/#job/runs/{run_id}",
                        "tasks": [{"run_id": run_id + 1000, "task_key": "spotify_assets_task"}],
                    },
                )
            if url.path == "/api/2.2/jobs/runs/get-output":
                return self._reply(
                    200,
                    {"error": workspace.fail_with, "error_trace": "Traceback (most recent call last): ..."},
                )
            self._reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": url.path})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            workspace.headers.append(dict(self.headers))
            if self.path == "/api/2.0/dbfs/mkdirs":
                workspace.folders.add(body["path"])
            elif self.path == "/api/2.0/dbfs/put":
                workspace.files[body["path"]] = base64.b64decode(body["contents"])
            elif self.path == "/api/2.0/dbfs/delete":
                workspace.folders.discard(body["path"])
                for name in [name for name in workspace.files if name.startswith(body["path"])]:
                    del workspace.files[name]
            elif self.path == "/api/2.2/jobs/runs/submit":
                workspace.submitted.append(body)
                workspace.run_remote_job(body["tasks"][0])
                return self._reply(200, {"run_id": len(workspace.submitted)})
            else:
                return self._reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": self.path})
            self._reply(200, {})

    return Handler


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    state = FakeWorkspace(lake=tmp_path / "lake", inputs=tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    yield state
    server.shutdown()
    server.server_close()


@dg.asset(partitions_def=dg.StaticPartitionsDefinition([LANDING_FILE]))
def cleaned_remotely(context: dg.AssetExecutionContext, engine: TransformEngine) -> dg.MaterializeResult:
    """Calls the engine as the ingest asset does (raw rows live in the workspace lake)."""
    with tempfile.TemporaryDirectory() as scratch:
        result = engine.clean(pl.LazyFrame(), Path(scratch), context=context)
        clean_rows = result.clean.collect().height
    return dg.MaterializeResult(
        metadata={**result.counts, "clean_rows": clean_rows, "rejected_rows": result.rejected.height}
    )


def databricks_engine(workspace: FakeWorkspace) -> DatabricksEngine:
    return DatabricksEngine(
        host=dg.EnvVar("DATABRICKS_HOST"),
        token=dg.EnvVar("DATABRICKS_TOKEN"),
        lake_uri=str(workspace.lake),
        job_script="dbfs:/spotify_assets/databricks_job.py",
        package_wheel="dbfs:/spotify_assets/spotify_assets-0.1.0-py3-none-any.whl",
        poll_interval_seconds=0.05,
        message_poll_seconds=0.05,
    )


def materialize(workspace: FakeWorkspace) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [cleaned_remotely],
        resources={"engine": databricks_engine(workspace)},
        partition_key=LANDING_FILE,
        raise_on_error=False,
    )


def test_a_clean_run_is_submitted_and_its_counts_come_back(workspace):
    result = materialize(workspace)

    assert result.success
    [submitted] = workspace.submitted
    [task] = submitted["tasks"]
    assert task["spark_python_task"] == {
        "python_file": "dbfs:/spotify_assets/databricks_job.py",
        "parameters": [
            "clean",
            "--lake",
            str(workspace.lake),
            "--timezone",
            "UTC",
            "--landing-file",
            LANDING_FILE,
        ],
    }
    assert task["libraries"] == [{"whl": "dbfs:/spotify_assets/spotify_assets-0.1.0-py3-none-any.whl"}]
    assert task["new_cluster"]["spark_conf"] == {"spark.sql.session.timeZone": "UTC"}
    assert {"DAGSTER_PIPES_CONTEXT", "DAGSTER_PIPES_MESSAGES"} <= set(task["new_cluster"]["spark_env_vars"])
    assert all(headers["Authorization"] == f"Bearer {TOKEN}" for headers in workspace.headers)
    metadata = result.asset_materializations_for_node("cleaned_remotely")[0].metadata
    expected = hostile.EXPECTED_CSV
    counts = {
        "rows_read": expected["rows_read"],
        "valid": expected["clean"],
        "filtered": expected["filtered"],
        "duplicate_in_file": expected["duplicate"],
        "rejected": expected["rejected"],
    }
    assert {name: metadata[name].value for name in counts} == counts
    assert metadata["clean_rows"].value == hostile.EXPECTED_CSV["clean"]
    assert metadata["rejected_rows"].value == hostile.EXPECTED_CSV["rejected"]


def test_the_pipes_context_names_the_asset_and_partition(workspace):
    contexts: list[dict] = []
    original = workspace.run_remote_job

    def capture(task: dict) -> None:
        path = decode_param(task["new_cluster"]["spark_env_vars"]["DAGSTER_PIPES_CONTEXT"])["path"]
        contexts.append(json.loads(workspace.files[path]))
        original(task)

    workspace.run_remote_job = capture
    assert materialize(workspace).success
    assert contexts[0]["asset_keys"] == ["cleaned_remotely"]
    assert contexts[0]["partition_key"] == LANDING_FILE


def test_a_failed_remote_run_fails_the_asset_with_the_remote_error(workspace):
    workspace.fail_with = REMOTE_ERROR

    result = materialize(workspace)

    assert not result.success
    [failure] = result.get_step_failure_events()
    message = failure.step_failure_data.error.message
    assert "Databricks clean run failed" in message
    assert REMOTE_ERROR in message
    assert len(workspace.submitted) == 1
    assert not (workspace.lake / CLEAN_PLAYS.name).exists()


def test_the_adapter_sees_the_run_the_pipes_client_submits(workspace):
    """spotify_assets/adapters/databricks.py finds a failed run's task errors by the run ids that
    PipesDatabricksClient.run submits through WorkspaceClient.jobs.submit."""
    workspace.fail_with = REMOTE_ERROR
    seen: dict = {}

    @dg.asset
    def submitted_directly(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = RecordingWorkspaceClient(host=f"http://127.0.0.1:{workspace.port}", token=TOKEN)
        task = databricks_engine(workspace).submit_task("members", ["--landing-file", LANDING_FILE])
        with pytest.raises(DatabricksRunFailed) as raised:
            run_task(context, client, task, poll_interval_seconds=0.05, message_poll_seconds=0.05)
        seen.update(run_ids=client.jobs.submitted_run_ids, message=str(raised.value))
        return dg.MaterializeResult()

    assert dg.materialize([submitted_directly]).success
    assert seen["run_ids"] == [1], (
        "PipesDatabricksClient.run no longer submits through WorkspaceClient.jobs.submit: "
        "spotify_assets/adapters/databricks.py cannot name a failed task's error any more"
    )
    first_line, *task_errors = seen["message"].splitlines()
    assert first_line == "Error running Databricks job: Workload failed, see run output for details"
    assert task_errors == [REMOTE_ERROR, "Traceback (most recent call last): ..."]


def ingest_locally(lake: Path, path: Path, key: str) -> None:
    """One landing file's clean_plays and file_reads in the lake, as the ingest asset writes them."""
    raw = read_history(path)
    with tempfile.TemporaryDirectory() as scratch:
        result = clean_plays(raw, Path(scratch))
        write_table(str(lake), CLEAN_PLAYS, result.clean, key)
        write_table(str(lake), FILE_READS, file_reads_row(key, raw, result), key)


def written(update: ModelUpdate) -> dict[str, pl.DataFrame]:
    """Every frame a model update would write, by table (and partition), rows in a fixed order."""
    tables: dict[str, object] = {**update.tables, "model_members": update.members}
    frames = {}
    for name, value in tables.items():
        parts = value.frames if isinstance(value, PartitionedUpdate) else {"": value}
        for key, frame in parts.items():
            if frame is not None:
                collected = frame.lazy().collect()
                frames[f"{name}/{key}"] = collected.sort(collected.columns)
    return frames


def test_a_model_update_runs_each_files_per_play_work_remotely(workspace):
    """The model is planned here; each file's members and fact rows come from one remote run each,
    and the update is the Polars engine's: basic account data overlapping the extended export makes
    cross-file duplicates, so some of a file's plays are excluded from its members and facts."""
    inputs = workspace.inputs
    overlapping = sample.generate_basic(300, seed=5, days=4000)["music"].to_dicts()
    basic = exports.write_basic_json(
        inputs / "StreamingHistory_music_0.json", overlapping + exports.BASIC_MUSIC
    )
    files = {
        "extended-0123456789ab": sample.write_extended_json(inputs / "extended.json", rows=300, seed=5),
        "basic-0123456789ac": basic,
    }
    for key, path in files.items():
        ingest_locally(workspace.lake, path, key)
    lake = LakeTables(str(workspace.lake))
    updates: list[ModelUpdate] = []

    @dg.asset
    def modelled_remotely(context: dg.AssetExecutionContext, engine: TransformEngine) -> dg.MaterializeResult:
        updates.append(engine.model_update(lake, context=context))
        return dg.MaterializeResult()

    assert dg.materialize([modelled_remotely], resources={"engine": databricks_engine(workspace)}).success

    [remote] = updates
    local = PolarsEngine().model_update(lake)
    assert remote.mode == local.mode == "rebuild"
    assert remote.tables["duplicate_plays"].frames["basic-0123456789ac"].height > 0
    remote_frames, local_frames = written(remote), written(local)
    assert remote_frames.keys() == local_frames.keys()
    for name, frame in local_frames.items():
        try:
            assert_frame_equal(remote_frames[name], frame)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None
    steps = [
        (task["spark_python_task"]["parameters"][0], task["spark_python_task"]["parameters"][-1])
        for submitted in workspace.submitted
        for task in submitted["tasks"]
    ]
    assert steps == [(step, key) for step in ("members", "facts") for key in sorted(files)]
