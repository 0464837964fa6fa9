"""End to end through the real UI stack: `dagster dev` (webserver + daemon), the landing sensor,
declarative automation, the asset checks, and the asset graph in headless Chromium.

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them). Run alone with
`pytest -m e2e`; it takes about two minutes on two cores.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import spotify_assets
from spotify_assets import sample
from spotify_assets.resources.landing import QUARANTINE_DIR

from .requirements import need_command

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

DAGSTER = Path(sys.executable).with_name("dagster")
REPO = Path(__file__).resolve().parents[1]
GROUPS = {
    "ingest": ("raw_plays", "clean_plays", "rejected_plays", "file_accounting"),
    "model": ("dim_album", "dim_date", "fact_streams"),
    "enrich": ("album_art",),
}
DAGSTER_YAML = (Path(spotify_assets.__file__).parent / "dagster.yaml").read_text()  # the shipped one
GRACE_SECONDS = 20
SCREEN = (1800, 1000)  # viewport, and so the size of the screenshots (`make screenshots`: docs/)
LINEAGE_EXTRA = ("listening_report", "v_streams")  # downstream of GROUPS, shown once the groups are expanded

RUNS = "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"
ASSETS = """{ assetNodes {
  assetKey { path }
  assetMaterializations(limit: 1) { runId }
  assetChecksOrError { ... on AssetChecks { checks {
    name executionForLatestMaterialization { status evaluation { severity } } } } }
} }"""
SENSORS = """{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors {
  name sensorState { status ticks(limit: 20) { status timestamp error { message } } } } } } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterDev:
    """A `dagster dev` process group on a loopback port, and its GraphQL API."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.landing = root / "landing"
        self.log = root / "dagster_dev.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        home = self.root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
        self.landing.mkdir()
        env = os.environ | {
            "DAGSTER_HOME": str(home),
            "SPOTIFY_LANDING_DIR": str(self.landing),
            "SPOTIFY_LAKE_URI": str(self.root / "lake"),
            "SPOTIFY_WAREHOUSE_URL": f"sqlite:///{self.root / 'warehouse.sqlite'}",
            "SPOTIFY_REPORT_DIR": str(self.root / "reports"),
            "DAGSTER_DISABLE_TELEMETRY": "1",
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(DAGSTER),
                    "dev",
                    "-w",
                    str(REPO / "workspace.yaml"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                ],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self.graphql(RUNS) is not None, 90, "the GraphQL API to answer")

    def stop(self) -> None:
        """SIGINT to the whole process group (dagster dev ignores SIGTERM), SIGKILL after a grace period."""
        if self.process is None:
            return
        group = self.process.pid  # start_new_session: the process leads its own group
        try:
            os.killpg(group, signal.SIGINT)
        except ProcessLookupError:  # already gone (e.g. it failed to start)
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(GRACE_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait(5)

    def graphql(self, query: str, **variables) -> dict | None:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)["data"]
        except OSError:
            if self.process.poll() is not None:
                raise AssertionError(f"dagster dev exited: {self.log.read_text()[-3000:]}") from None
            return None

    def runs(self) -> list[dict]:
        return self.graphql(RUNS)["runsOrError"]["results"]

    def assets(self) -> dict[str, dict]:
        return {"/".join(node["assetKey"]["path"]): node for node in self.graphql(ASSETS)["assetNodes"]}

    def sensor_ticks(self, name: str) -> list[dict]:
        repositories = self.graphql(SENSORS)["repositoriesOrError"]["nodes"]
        [sensor] = [
            sensor
            for repository in repositories
            for sensor in repository["sensors"]
            if sensor["name"] == name
        ]
        return sensor["sensorState"]["ticks"]


def wait_for(condition: Callable[[], object], seconds: float, what: str, poll: float = 1.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def everything_materialized_and_checked(dev: DagsterDev) -> bool:
    runs = dev.runs()
    if any(run["status"] in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED") for run in runs):
        return False
    nodes = dev.assets().values()
    checks = [check for node in nodes for check in node["assetChecksOrError"]["checks"]]
    return all(node["assetMaterializations"] for node in nodes) and all(
        check["executionForLatestMaterialization"] for check in checks
    )


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> Iterator[DagsterDev]:
    dev = DagsterDev(tmp_path_factory.mktemp("e2e"))
    try:
        dev.start()
        yield dev
    finally:
        dev.stop()


def test_a_dropped_history_flows_through_the_whole_graph_on_its_own(dev):
    sample.write_maven_csv(dev.landing / "Spotify_Streaming_History.csv", rows=3000, seed=21)
    wait_for(
        lambda: any(run["jobName"] == "everything" and run["status"] == "SUCCESS" for run in dev.runs()),
        90,
        "the sensor's run for the file to succeed",
    )
    wait_for(
        lambda: everything_materialized_and_checked(dev), 240, "every asset and check to materialize", poll=2
    )

    runs = dev.runs()
    assert {run["status"] for run in runs} == {"SUCCESS"}, runs
    ingest = [run for run in runs if run["jobName"] == "everything"]
    assert len(ingest) == 1 and len(runs) == 1, runs  # one run carries the file and everything downstream
    assert {tag["key"]: tag["value"] for tag in ingest[0]["tags"]}["dagster/partition"].startswith(
        "Spotify_Streaming_History-"
    )
    checks = {
        f"{key}:{check['name']}": check["executionForLatestMaterialization"]
        for key, node in dev.assets().items()
        for check in node["assetChecksOrError"]["checks"]
    }
    assert checks["fact_streams:foreign_keys_resolve"]["status"] == "SUCCEEDED"
    failed = {name: execution for name, execution in checks.items() if execution["status"] != "SUCCEEDED"}
    # without Spotify credentials album art and track metadata stay pending: their coverage checks may
    # only warn
    assert set(failed) <= {"album_art:album_art_coverage", "track_metadata:track_metadata_coverage"}, failed
    assert all(execution["evaluation"]["severity"] == "WARN" for execution in failed.values())


def test_same_bytes_start_nothing_and_a_broken_file_is_quarantined(dev):
    runs_before = dev.runs()
    shutil.copy(dev.landing / "Spotify_Streaming_History.csv", dev.landing / "history_again.csv")
    (dev.landing / "holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64)
    reason = dev.landing / QUARANTINE_DIR / "holiday.jpg.reason.txt"
    wait_for(reason.exists, 60, "the broken file to be quarantined")
    quarantined_at = time.time()
    assert "not a text file" in reason.read_text()
    # the copy was handled on the tick that quarantined the photo: once a later tick has finished, that
    # tick's run requests (there must be none) are all in the run list
    wait_for(
        lambda: any(
            tick["timestamp"] > quarantined_at and tick["status"] != "STARTED"
            for tick in dev.sensor_ticks("landing_sensor")
        ),
        60,
        "the landing sensor's next tick",
    )
    known = {run["runId"] for run in runs_before}
    assert [run for run in dev.runs() if run["runId"] not in known] == []
    assert not (dev.landing / "holiday.jpg").exists()
    ticks = dev.sensor_ticks("landing_sensor")
    assert ticks and all(tick["status"] != "FAILURE" for tick in ticks), ticks


def test_the_asset_graph_shows_every_asset_and_the_last_run_succeeded(dev, tmp_path, screenshot_dir):
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = need_command("chromium", "Debian's chromium package; .ci/run installs it")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
        f"--window-size={SCREEN[0]},{SCREEN[1]}",
    ):
        options.add_argument(flag)
    chromedriver = need_command("chromedriver", "Debian's chromium-driver package; .ci/run installs it")
    service = webdriver.ChromeService(executable_path=chromedriver)
    browser = webdriver.Chrome(options=options, service=service)
    # headless --window-size counts window chrome too; pin the viewport, and so the screenshots, to SCREEN
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": SCREEN[0], "height": SCREEN[1], "deviceScaleFactor": 1, "mobile": False},
    )
    body = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731
    button = lambda xpath: WebDriverWait(browser, 10).until(lambda _: browser.find_element(By.XPATH, xpath))  # noqa: E731

    def skip_first_visit_dialog() -> None:
        """The "Join the Dagster community" dialog a fresh browser profile gets, a moment after loading."""
        skip = "//button[normalize-space()='Skip']"
        try:
            WebDriverWait(browser, 15).until(lambda _: browser.find_elements(By.XPATH, skip))[0].click()
        except TimeoutException:
            return  # a Dagster that no longer asks
        WebDriverWait(browser, 10).until(
            lambda _: not browser.find_elements(By.CSS_SELECTOR, ".bp5-overlay-backdrop")
        )

    def graph_setting(item: str) -> None:
        """A toggle in the lineage graph's settings menu (the gear under the zoom slider)."""
        entry = f"//button[@role='menuitem'][contains(., '{item}')]"
        if not browser.find_elements(By.XPATH, entry):  # the menu stays open after a click
            # icon-only gear buttons: with the navigation collapsed, the user settings gear is one
            # too; ours is the last
            button("(//button[normalize-space()='' and .//*[@aria-label='settings']])[last()]").click()
        button(entry).click()

    try:
        browser.get(f"{dev.url}/assets")  # the catalog: every asset, one row each
        assets = [name for names in GROUPS.values() for name in names]
        WebDriverWait(browser, 60).until(lambda _: all(name in body() for name in assets))
        skip_first_visit_dialog()
        browser.get(f"{dev.url}/asset-groups")
        WebDriverWait(browser, 60).until(lambda _: all(group in body() for group in GROUPS))
        # room for the graph: collapse the left navigation and the asset tree beside the graph first, so the
        # re-layouts below fit the graph to the full width
        button("//button[normalize-space()='Hide navigation']").click()
        button("//button[normalize-space()='' and .//*[@aria-label='panel_show_right']]").click()
        # top to bottom reads as a landscape picture (left to right stacks the 13 warehouse assets into a
        # tower), and expanded groups show every asset with its materialization status instead of one box
        # per group
        graph_setting("Change graph to vertical orientation")
        graph_setting("Expand all groups")
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)  # close the settings menu
        WebDriverWait(browser, 30).until(lambda _: all(name in body() for name in (*assets, *LINEAGE_EXTRA)))
        ActionChains(browser).move_to_element(
            browser.find_element(By.XPATH, "//body//*[text()='Global asset lineage']")
        ).perform()
        time.sleep(2)  # the menu was over the graph: no hovered node, and let the live status arrive ...
        WebDriverWait(browser, 20).until(
            lambda _: (
                len(
                    set(
                        browser.execute_script(  # ... for every node: one colour
                            "return Array.from(document.querySelectorAll('[class*=minimalAssetNodeBox]'),"
                            " box => getComputedStyle(box).borderColor)"
                        )
                    )
                )
                == 1
            )
        )
        assert not browser.find_elements(
            By.XPATH, "//button[@role='menuitem'] | //button[normalize-space()='Skip']"
        )
        assert browser.save_screenshot(str(screenshot_dir / "asset_graph.png"))

        browser.get(f"{dev.url}/runs")
        WebDriverWait(browser, 60).until(lambda _: "Success" in body())
        assert "Failure" not in body()
        assert browser.save_screenshot(str(screenshot_dir / "runs.png"))
    finally:
        browser.quit()
