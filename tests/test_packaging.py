"""Packaging: every third-party package the code imports is declared, the opt-in parts are extras that
the package imports only where used (a one-line error naming the extra otherwise), and Dagster's
private API is imported in one module only."""
import ast
import importlib.metadata
import os
import re
import subprocess
import sys

from tests.backfill.cli_helpers import PROJECT_ROOT

PACKAGE = os.path.join(PROJECT_ROOT, "flights_etl")
EXTRA_MODULES = {
    "postgres": ("dagster_postgres", "psycopg2"),
    "fleet": ("celery", "kombu", "redis"),
    "slack": ("slack_sdk",),
}


def _imports(root: str):
    """(file, line, dotted module) of every absolute import under ``root``, at any depth of the code."""
    for directory, _dirs, files in os.walk(root):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            with open(path) as handle:
                tree = ast.parse(handle.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        yield path, node.lineno, alias.name
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    yield path, node.lineno, node.module


def _declared():
    """Distribution names (normalized) in the installed package's requirements, with the extras that add
    each (None: a hard requirement)."""
    declared = {}
    for requirement in importlib.metadata.requires("flights-etl"):
        name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", requirement)
        declared.setdefault(_normalized(name), set()).add(extra.group(1) if extra else None)
    return declared


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_third_party_package_is_declared():
    declared = _declared()
    distributions = importlib.metadata.packages_distributions()
    missing = set()
    for path, line, module in _imports(PACKAGE):
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top == "flights_etl":
            continue
        owners = {_normalized(d) for d in distributions.get(top, [])}
        assert owners, f"{path}:{line}: {module} is not installed by any distribution"
        if not owners & set(declared):
            missing.add(f"{module.split('.')[0]} ({', '.join(sorted(owners))}) imported at {os.path.relpath(path, PROJECT_ROOT)}:{line}")
    assert sorted(missing) == []


def test_the_opt_in_parts_are_extras():
    declared = _declared()
    distributions = importlib.metadata.packages_distributions()
    for extra, modules in EXTRA_MODULES.items():
        for module in modules:
            owners = {_normalized(d) for d in distributions[module]}
            assert any(extra in declared.get(owner, ()) for owner in owners), (extra, module)
            assert not any(None in declared.get(owner, ()) for owner in owners), f"{module} is a hard requirement"


def test_dagster_private_api_is_imported_in_one_module_only():
    importers = {os.path.relpath(path, PROJECT_ROOT) for path, _line, module in _imports(PACKAGE)
                 if module.startswith(("dagster._", "dagster.core", "dagster.serdes", "dagster.utils"))}
    assert importers == {"flights_etl/dagster_private.py"}
    # ... and that module holds imports only, no logic.
    with open(os.path.join(PACKAGE, "dagster_private.py")) as handle:
        body = ast.parse(handle.read()).body
    assert all(isinstance(node, (ast.Import, ast.ImportFrom)) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
               for node in body)


# Run in a fresh interpreter where the extras' packages cannot be imported, as on `pip install flights-etl`.
WITHOUT_EXTRAS = """
import sys
BLOCKED = {blocked!r}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
"""

WITHOUT_EXTRAS_CHECKS = """
from datetime import date
import flights_etl.cli, flights_etl.repository, flights_etl.instance.worker, flights_etl.backfill.driver, flights_etl.runs.watchdog
from dagster import build_init_resource_context
from flights_etl.extras import MissingExtra
from flights_etl.modes import PROD_RESOURCES
from flights_etl.warehouse import WarehouseError, open_warehouse

def one_line(call):
    try:
        call()
    except Exception as error:
        message = str(error)
        assert "\\n" not in message.strip(), message
        return type(error).__name__ + ": " + message
    raise AssertionError("no error")

print(one_line(lambda: __import__("flights_etl.fleet.broker")))
print(one_line(lambda: __import__("flights_etl.instance.postgres.storage")))
print(one_line(lambda: PROD_RESOURCES["slack"].resource_fn(build_init_resource_context())))
print(one_line(lambda: open_warehouse("postgresql://flights:secret@127.0.0.1:1/flights").loaded_days(date(2013, 1, 1), date(2013, 1, 2))))
"""


def test_without_the_extras_the_package_loads_and_each_part_names_its_extra():
    blocked = {module for modules in EXTRA_MODULES.values() for module in modules}
    script = WITHOUT_EXTRAS.format(blocked=blocked) + WITHOUT_EXTRAS_CHECKS
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    fleet, instance, slack, warehouse = result.stdout.strip().splitlines()
    assert fleet.startswith("MissingExtra: celery is not installed") and "pip install 'flights-etl[fleet]'" in fleet, fleet
    assert instance.startswith("MissingExtra: dagster_postgres is not installed") and "[postgres]" in instance, instance
    assert slack.startswith("MissingExtra: slack_sdk is not installed") and "[slack]" in slack, slack
    assert warehouse.startswith("WarehouseError: psycopg2 is not installed") and "[postgres]" in warehouse, warehouse
    assert "secret" not in result.stdout + result.stderr
