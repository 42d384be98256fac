"""Browser-test fixtures: a private Dagit (and daemon) per test on a free loopback port, a headless page.

Each test gets a temp DAGSTER_HOME (telemetry off), warehouse and landing copy; Dagit and the
daemon are stopped with their process groups at teardown; a screenshot of the page's last
state is saved to test-artifacts/<test name>.png.
"""
import os

import pytest
from playwright.sync_api import sync_playwright

from tests.backfill.cli_helpers import PROJECT_ROOT
from tests.servers import DagitStack
from tests.ui.browser import launch_browser, record, save_screenshot
from tests.ui.dagit import free_port


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/ui/" in str(item.fspath):
            item.add_marker(pytest.mark.ui)


@pytest.fixture
def dagit_env(tmp_path, landing_dir, warehouse_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FLIGHTS_LANDING_DIR": landing_dir,
        "FLIGHTS_WAREHOUSE": warehouse_path,
    }


@pytest.fixture
def postgres_dagit_env(tmp_path, landing_dir, postgres_server):
    """The shared deployment's shape: instance (deploy/postgres/dagster.yaml) and warehouse on PostgreSQL."""
    from tests.backfill.cli_helpers import postgres_instance_env
    from tests.conftest import new_postgres_database

    return postgres_instance_env(tmp_path, landing_dir, new_postgres_database(postgres_server), postgres_server)


@pytest.fixture
def start_dagit(dagit_env, tmp_path):
    """start_dagit(daemon=False, env=None) -> a running DagitStack for this test's instance (or ``env``'s);
    stopped at teardown."""
    stacks = []

    def start(daemon: bool = False, env: dict = None) -> DagitStack:
        stack = DagitStack("workspace.yaml", port=free_port(), daemon=daemon, env=env or dagit_env,
                           cwd=PROJECT_ROOT, log_dir=str(tmp_path))
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.log = record(tab)
    yield tab
    try:
        save_screenshot(tab, request.node.name)
    finally:
        context.close()
