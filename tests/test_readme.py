"""The README and docs/*.md name only paths and modules that exist, and the README shows the Launchpad's
config as it is today."""
import glob
import importlib.util
import os
import re
import subprocess
from datetime import date

import pytest

from tests.backfill.cli_helpers import BIN, PROJECT_ROOT, instance_env
from tests.helpers import read_table
from tests.raw_data import flights_on

README = os.path.join(PROJECT_ROOT, "README.md")
DOCS = sorted(glob.glob(os.path.join(PROJECT_ROOT, "docs", "*.md")))
MAX_README_LINES = 300
TRACKED_ROOTS = ("flights_etl/", "devtools/", "tests/", "deploy/", "bench/", "docs/", ".ci/")  # generated dirs are not checked
LOGGERS = {"flights_etl.alerts"}  # dotted names that are loggers, not modules


def _readme() -> str:
    with open(README) as handle:
        return handle.read()


def _named_paths(text: str):
    """(line number, path) of every repository path the README names in code spans or links."""
    for number, line in enumerate(text.splitlines(), 1):
        words = [w for span in re.findall(r"`([^`]+)`", line) for w in span.split()]
        words += re.findall(r"\]\(([^)#\s]+)", line)  # links and images
        for word in words:
            path = word.strip(":,;()'\"").split(":", 1)[0]
            if path.startswith(TRACKED_ROOTS):
                yield number, path


def _named_modules(text: str):
    for number, line in enumerate(text.splitlines(), 1):
        for module in re.findall(r"\bflights_etl(?:\.[a-z_0-9]+)+", line):
            yield number, module


def test_every_path_the_readme_names_exists():
    missing = [f"README.md:{number}: {path}" for number, path in _named_paths(_readme())
               if not os.path.exists(os.path.join(PROJECT_ROOT, path))]
    assert missing == []


def test_every_module_the_readme_names_exists():
    missing = []
    for number, module in _named_modules(_readme()):
        if module not in LOGGERS and not _exists(module):
            missing.append(f"README.md:{number}: {module}")
    assert missing == []


def _exists(dotted: str) -> bool:
    """A module, or a name defined in a module of the package (``flights_etl.x.y.SomeClass``)."""
    try:
        if importlib.util.find_spec(dotted) is not None:
            return True
    except ModuleNotFoundError:
        return False
    parent, name = dotted.rsplit(".", 1)
    return parent != "flights_etl" and _exists(parent) and hasattr(importlib.import_module(parent), name)


def test_launchpad_text_and_postgres_section_describe_todays_config():
    text = _readme()
    assert "config of every solid that needs it" not in text  # the Launchpad fills resources.daily_partition
    assert "resources.daily_partition" in text
    assert "storage: postgres:" not in text  # deploy/postgres/dagster.yaml uses the pooled storage
    assert "PooledPostgresStorage" in text


def test_readme_stock_execute_of_one_day_loads_that_day(tmp_path, landing_dir):
    """The README's `dagster pipeline execute` block, run as written (in a temp directory and instance)."""
    text = _readme()
    block = text[text.index("One day with stock `dagster pipeline execute`"):]
    block = block[block.index("```bash\n") + len("```bash\n"):]
    block = block[:block.index("```")]
    assert "--mode" in block and "daily_partition" in block
    env = instance_env(tmp_path, landing_dir, str(tmp_path / "warehouse.duckdb"))
    done = subprocess.run(["bash", "-euc", block.replace(".venv/bin/", BIN + "/")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    counts = read_table(env["FLIGHTS_WAREHOUSE"], "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n "
                        "FROM flights GROUP BY 1")
    assert counts.day.tolist() == ["2013-01-15"] and counts.n.tolist() == [len(flights_on(date(2013, 1, 15)))]


def _text(path: str) -> str:
    with open(path) as handle:
        return handle.read()


@pytest.mark.parametrize("doc", DOCS, ids=os.path.basename)
def test_every_path_and_module_a_doc_names_exists(doc):
    """In docs/*.md, code spans name paths from the project root, links are relative to docs/."""
    text, name = _text(doc), os.path.relpath(doc, PROJECT_ROOT)
    missing = [f"{name}:{number}: {path}" for number, path in _named_paths(text)
               if not os.path.exists(os.path.join(PROJECT_ROOT, path))]
    missing += [f"{name}:{number}: {module}" for number, module in _named_modules(text)
                if module not in LOGGERS and not _exists(module)]
    for number, line in enumerate(text.splitlines(), 1):
        for link in re.findall(r"\]\(([^)#\s]+)", line):
            if "://" not in link and not os.path.exists(os.path.join(os.path.dirname(doc), link)):
                missing.append(f"{name}:{number}: link {link}")
    assert missing == []


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc", [README] + DOCS, ids=os.path.basename)
def test_every_anchor_link_points_at_a_heading(doc):
    text = _text(doc)
    broken = []
    for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", text):
        linked = os.path.join(os.path.dirname(doc), target) if target else doc
        headings = {_anchor(h) for h in re.findall(r"^#+ (.+)$", _text(linked), flags=re.M)}
        if anchor not in headings:
            broken.append(f"{target}#{anchor}")
    assert broken == []


def test_readme_is_a_guide_of_at_most_300_lines_linking_every_doc():
    text = _readme()
    assert len(text.splitlines()) <= MAX_README_LINES
    assert text.index("make run") < text.index("## Contents") < text.index("## Using it") \
        < text.index("## Configuration") < text.index("## The shared deployment") < text.index("## Layout")
    assert [doc for doc in DOCS if f"(docs/{os.path.basename(doc)})" not in text] == []
