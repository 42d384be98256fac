"""Choosing a backfill's partitions: ranges, lists, --only over the latest run of each partition."""
from collections import namedtuple

import pytest
from dagster import PipelineRunStatus

from flights_etl.runs.selection import SelectionError, narrow, parse_only, requested_partitions

NAMES = [f"2013-01-{day:02d}" for day in range(1, 11)]
Latest = namedtuple("Latest", "status")


def test_range_includes_both_ends():
    assert requested_partitions(NAMES, start="2013-01-03", end="2013-01-05") == NAMES[2:5]


def test_list_keeps_the_set_order():
    assert requested_partitions(NAMES, names=["2013-01-07", " 2013-01-02"]) == ["2013-01-02", "2013-01-07"]


def test_all():
    assert requested_partitions(NAMES, everything=True) == NAMES


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(start="2013-01-05", end="2013-01-02"), "--to 2013-01-02 is before --from 2013-01-05"),
        (dict(start="2012-12-31", end="2013-01-02"), "--from 2012-12-31 is not a partition of the set"),
        (dict(names=["2013-01-02", "2013-02-30"]), "Not in the partition set: 2013-02-30"),
    ],
)
def test_bad_requests_say_what_is_wrong(kwargs, message):
    with pytest.raises(SelectionError, match=message):
        requested_partitions(NAMES, **kwargs)


def test_only_parses_its_choices():
    assert parse_only("missing,failed") == {"missing", "failed"}
    with pytest.raises(SelectionError):
        parse_only("broken")
    with pytest.raises(SelectionError):
        parse_only("all,failed")


def test_narrow_by_latest_run():
    latest = {
        "2013-01-01": Latest(PipelineRunStatus.SUCCESS),
        "2013-01-02": Latest(PipelineRunStatus.FAILURE),
        "2013-01-03": Latest(PipelineRunStatus.CANCELED),
        "2013-01-04": Latest(PipelineRunStatus.STARTED),
    }
    requested = NAMES[:5]
    assert narrow(requested, latest, parse_only("all")) == requested
    assert narrow(requested, latest, parse_only("missing")) == ["2013-01-05"]
    assert narrow(requested, latest, parse_only("failed")) == ["2013-01-02", "2013-01-03"]
    assert narrow(requested, latest, parse_only("missing,failed")) == ["2013-01-02", "2013-01-03", "2013-01-05"]


def test_narrow_by_changed_files():
    latest = {
        "2013-01-01": Latest(PipelineRunStatus.SUCCESS),
        "2013-01-02": Latest(PipelineRunStatus.SUCCESS),
        "2013-01-03": Latest(PipelineRunStatus.FAILURE),
        "2013-01-04": Latest(PipelineRunStatus.SUCCESS),
    }
    # day statuses as runs/changes.py gives them: 01-02 re-landed, 01-04 ran but is not in the warehouse
    changes = {"2013-01-01": "SUCCESS", "2013-01-02": "CHANGED", "2013-01-03": "FAILURE", "2013-01-04": "LANDED",
               "2013-01-05": "LANDED", "2013-01-06": "MISSING"}
    requested = NAMES[:6]
    assert parse_only("missing,failed,changed") == {"missing", "failed", "changed"}
    assert narrow(requested, latest, parse_only("changed"), changes) == ["2013-01-02", "2013-01-04"]
    assert narrow(requested, latest, parse_only("missing,failed,changed"), changes) == NAMES[1:6]
    with pytest.raises(SelectionError, match="--only takes all, or missing, failed, changed"):
        parse_only("changd")
