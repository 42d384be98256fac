"""Values kept per run in the instance's key-value store (leases, the watchdog's suspects, hand-backs)."""
from typing import Callable, Dict, Iterable, Optional, TypeVar

from dagster import DagsterInstance

T = TypeVar("T")


def values_of_runs(instance: DagsterInstance, prefix: str, run_ids: Iterable[str],
                   decode: Callable[[str], Optional[T]]) -> Dict[str, T]:
    """``{run_id: decode(value)}`` for those of ``run_ids`` with a value under ``prefix`` (one query);
    a value ``decode`` cannot read (raises ValueError, or returns None) is left out."""
    run_ids = list(run_ids)
    if not run_ids:
        return {}
    found = {}
    for key, text in instance.run_storage.kvs_get({prefix + run_id for run_id in run_ids}).items():
        try:
            value = decode(text)
        except ValueError:
            continue
        if value is not None:
            found[key[len(prefix):]] = value
    return found
