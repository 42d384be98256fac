"""flights_etl/settings.py is the one module that reads the environment, and the README's table lists its variables."""
import os
import re

import pytest

from flights_etl import settings
from tests.backfill.cli_helpers import PROJECT_ROOT

PACKAGE = os.path.join(PROJECT_ROOT, "flights_etl")
ENVIRON = re.compile(r"\bos\.(environ|getenv)\b")
# Lines that touch the environment without reading one of its variables: whole-environment copies
# for child processes, and writes the process makes for itself.
ALLOWED = {
    ("flights_etl/cli.py", 'os.environ.setdefault("TQDM_DISABLE", "1")'),  # a write, for tqdm
    ("flights_etl/fleet/execution.py", "os.environ[WORKER_NAME_ENV] = hostname"),  # a write, for the executor
    ("flights_etl/dagit_tools/stack.py", "env = dict(self.env if self.env is not None else os.environ)"),
    ("flights_etl/dagit_tools/stack.py", "saved = dict(os.environ)"),
    ("flights_etl/dagit_tools/stack.py", "os.environ.update(env)"),
    ("flights_etl/dagit_tools/stack.py", "os.environ.clear()"),
    ("flights_etl/dagit_tools/stack.py", "os.environ.update(saved)"),
}


def _environment_lines():
    for folder, _dirs, files in os.walk(PACKAGE):
        for name in sorted(files):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, PROJECT_ROOT)
            if not name.endswith(".py") or relative == "flights_etl/settings.py":
                continue
            with open(path) as handle:
                for number, line in enumerate(handle, 1):
                    if ENVIRON.search(line):
                        yield relative, number, line.split("#", 1)[0].strip()


def test_every_environment_read_in_the_package_goes_through_settings():
    found = list(_environment_lines())
    unexpected = [f"{path}:{number}: {code}" for path, number, code in found if (path, code) not in ALLOWED]
    assert unexpected == [], "read it with flights_etl.settings.read() (and add it to SETTINGS)"
    stale = ALLOWED - {(path, code) for path, _number, code in found}
    assert stale == set(), "allowed lines that are gone: remove them from ALLOWED"


def _readme_table():
    """(name, default, description) of each row of the README's table of environment variables."""
    with open(os.path.join(PROJECT_ROOT, "README.md")) as handle:
        text = handle.read()
    section = text[text.index("### Environment variables"):]
    section = section[:section.index("\n#", 1)]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and re.fullmatch(r"`[A-Z_0-9]+`", cells[0]):
            rows.append((cells[0].strip("`"), cells[1], cells[2]))
    return rows


def test_readme_table_lists_exactly_the_settings_with_their_defaults():
    rows = _readme_table()
    assert [name for name, _default, _description in rows] == [setting.name for setting in settings.SETTINGS]
    assert rows == [tuple(setting) for setting in settings.SETTINGS]


def test_each_setting_is_read_when_asked(monkeypatch):
    monkeypatch.delenv(settings.LAST_DAY, raising=False)
    assert settings.read(settings.LAST_DAY) is None and settings.text(settings.LAST_DAY) == ""
    monkeypatch.setenv(settings.LAST_DAY, " 2013-02-01 ")
    assert settings.read(settings.LAST_DAY) == " 2013-02-01 " and settings.text(settings.LAST_DAY) == "2013-02-01"


def test_a_variable_that_is_not_a_setting_is_refused():
    with pytest.raises(KeyError, match="FLIGHTS_NOPE is not one of the project's settings"):
        settings.read("FLIGHTS_NOPE")


def test_settings_are_unique_and_described():
    names = [setting.name for setting in settings.SETTINGS]
    assert len(names) == len(set(names)) == len(settings.NAMES)
    assert all(setting.default and setting.description.endswith(".") for setting in settings.SETTINGS)
    assert "|" not in "".join(setting.default + setting.description for setting in settings.SETTINGS)


def test_numbers_are_checked_with_one_line_naming_the_variable(monkeypatch):
    name = settings.LEASE_TTL_S
    monkeypatch.delenv(name, raising=False)
    assert settings.number(name, 30.0) == 30.0
    for bad in ("soon", "nan", "-1"):
        monkeypatch.setenv(name, bad)
        with pytest.raises(ValueError, match=rf"^\$FLIGHTS_LEASE_TTL_S='{bad}': expected a number >= 0$"):
            settings.number(name, 30.0)
    monkeypatch.setenv(name, "5")
    assert settings.number(name, 30.0, minimum=5) == 5.0
    with pytest.raises(ValueError, match=r"^\$FLIGHTS_LEASE_TTL_S='5': expected a number > 5 \(seconds\)$"):
        settings.number(name, 30.0, minimum=5, above=True, why=" (seconds)")
