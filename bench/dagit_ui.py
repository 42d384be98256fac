"""How fast Dagit's Partitions tab is with a year of history: every daily partition run at least twice.

Builds the history once in a work directory (landing files for all of 2013, a DuckDB warehouse,
a SQLite DAGSTER_HOME), then starts Dagit on a free loopback port and measures, medians over
``--repeats``:

- GraphQL: the Partitions page's own queries, captured from the browser and replayed server-side;
- browser: navigation to the Partitions tab until the per-step run matrix has no loading cell
  (including the click on "Show per-step status"), and the "Launch backfill..." dialog until its
  submit button shows. The first visit after Dagit starts is also printed on its own (slowest).

Usage: .venv/bin/python bench/dagit_ui.py [--workdir test-artifacts/bench_dagit_ui] [--repeats 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date, timedelta

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PROJECT_ROOT)

BIN = os.path.dirname(sys.executable)
RUNS_PER_PARTITION = 2
DAYS = [(date(2013, 1, 1) + timedelta(days=offset)).isoformat() for offset in range(365)]


def environment(workdir: str) -> dict:
    home = os.path.join(workdir, "dagster_home")
    os.makedirs(home, exist_ok=True)
    config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(config):
        with open(config, "w") as handle:
            handle.write("telemetry:\n  enabled: false\n")
    return {
        **os.environ,
        "DAGSTER_HOME": home,
        "FLIGHTS_LANDING_DIR": os.path.join(workdir, "landing"),
        "FLIGHTS_WAREHOUSE": os.path.join(workdir, "warehouse.duckdb"),
    }


def runs_per_partition(env: dict) -> dict:
    from dagster import DagsterInstance

    from flights_etl.dagster_private import RunsFilter

    counts = defaultdict(int)
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs(filters=RunsFilter(
            pipeline_name="flights_daily_pipeline", tags={"dagster/partition_set": "flights_daily_partition_set"}))
        for run in runs:
            counts[run.tags["dagster/partition"]] += 1
    return counts


def build_history(workdir: str) -> None:
    """Land the year and run every daily partition with `flights-etl backfill` until each has
    RUNS_PER_PARTITION runs."""
    env = environment(workdir)
    if not os.path.isdir(os.path.join(env["FLIGHTS_LANDING_DIR"], "flights")):
        subprocess.run([os.path.join(BIN, "flights-etl"), "land", "--start", DAYS[0], "--end", DAYS[-1],
                        "--landing-dir", env["FLIGHTS_LANDING_DIR"]], env=env, check=True)
    from dagster import DagsterInstance

    DagsterInstance.from_config(env["DAGSTER_HOME"]).dispose()  # create the storage before the backfill
    for round_ in range(RUNS_PER_PARTITION):
        counts = runs_per_partition(env)
        todo = [day for day in DAYS if counts[day] <= round_]
        if not todo:
            continue
        started = time.monotonic()
        print(f"history: round {round_ + 1}: flights-etl backfill of {len(todo)} partitions", flush=True)
        backfill = subprocess.run(
            [os.path.join(BIN, "flights-etl"), "backfill", "--partition-set", "flights_daily_partition_set",
             *(["--all"] if len(todo) == len(DAYS) else ["--partitions", ",".join(todo)])],
            env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
        if backfill.returncode != 0:
            raise SystemExit(f"flights-etl backfill failed:\n{backfill.stderr[-3000:]}")
        print(f"history: round {round_ + 1} took {time.monotonic() - started:.0f}s", flush=True)


def median_ms(values) -> float:
    return round(statistics.median(values) * 1000)


def measure(workdir: str, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    from flights_etl.dagit_tools.stack import DagitStack
    from tests.ui.browser import launch_browser
    from tests.ui.dagit import free_port, partitions_url, show_per_step_status, wait_matrix_loaded

    env = environment(workdir)
    stack = DagitStack("workspace.yaml", port=free_port(), daemon=False, env=env, cwd=PROJECT_ROOT, log_dir=workdir)
    figures = defaultdict(list)
    with stack, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        requests = []
        page.on("requestfinished", lambda request: requests.append(request) if "/graphql" in request.url else None)
        page.goto(f"{stack.url}/instance/runs")  # load the app bundle once
        page.wait_for_load_state("networkidle")
        for _ in range(repeats):
            requests.clear()
            started = time.monotonic()
            page.goto(partitions_url(stack.url, "flights_daily_pipeline"))
            page.get_by_text("Total partitions").wait_for(timeout=120_000)
            figures["browser: page to partition counts"].append(time.monotonic() - started)
            clicked = time.monotonic()
            show_per_step_status(page)
            wait_matrix_loaded(page)
            figures["browser: page to per-step matrix"].append(time.monotonic() - started)
            figures["browser: click 'Show per-step status' to matrix"].append(time.monotonic() - clicked)
            page.get_by_role("button", name="Hide per-step status").click()
            started = time.monotonic()
            page.get_by_role("button", name="Launch backfill...").click()
            page.locator(".bp3-dialog [role=button]", has_text="Submit").wait_for(timeout=120_000)
            figures["browser: backfill dialog open"].append(time.monotonic() - started)
            page.keyboard.press("Escape")
        per_page = defaultdict(int)  # GraphQL requests of the last repetition (page, matrix, dialog)
        captured = {}
        for request in requests:
            body = json.loads(request.post_data or "{}")
            captured.setdefault(body.get("operationName"), body)
            per_page[body.get("operationName")] += 1
        page.screenshot(path=os.path.join(workdir, "partitions.png"))
        browser.close()
        figures.update(replay_queries(stack.url, captured, repeats))
    counts = runs_per_partition(env)
    return {
        "runs": sum(counts.values()),
        "partitions with >= 2 runs": sum(1 for day in DAYS if counts[day] >= RUNS_PER_PARTITION),
        **{name: median_ms(values) for name, values in figures.items()},
        **{f"{name} (slowest visit; the first is cold)": round(max(values) * 1000)
           for name, values in figures.items() if name.startswith("browser: page")},
        **{f"requests per visit: {name}": count for name, count in sorted(per_page.items(), key=lambda i: str(i[0]))},
    }


def replay_queries(url: str, captured: dict, repeats: int) -> dict:
    """Time each GraphQL operation of the page, POSTed again directly (server time + JSON transfer)."""
    import urllib.request

    figures = {}
    for name, body in sorted(captured.items(), key=lambda item: str(item[0])):
        times = []
        for _ in range(repeats):
            request = urllib.request.Request(f"{url}/graphql", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
            started = time.monotonic()
            with urllib.request.urlopen(request, timeout=300) as response:
                response.read()
            times.append(time.monotonic() - started)
        figures[f"graphql: {name}"] = times
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", default=os.path.join(PROJECT_ROOT, "test-artifacts", "bench_dagit_ui"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--history-only", action="store_true")
    args = parser.parse_args()
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    build_history(workdir)
    if args.history_only:
        return
    print(f"load average before measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, value in measure(workdir, args.repeats).items():
        print(f"{name:>55}: {value}{' ms' if name.startswith(('graphql', 'browser')) else ''}")


if __name__ == "__main__":
    main()
