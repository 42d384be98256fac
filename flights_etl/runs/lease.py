"""Who executes a run, recorded in the instance's database: a lease the executing worker renews.

The lease of run ``<id>`` is the value of key ``flights/lease/<id>`` in the run storage's
key-value table (SQLite or PostgreSQL, the same database as the runs, shared by every part):
JSON ``{"owner", "renewed_at", "expires_at", "ended"}``. A fleet worker writes it when it takes a
run and renews it every ``HEARTBEAT_S``; it expires ``lease_ttl_s()`` after the last renewal
(30 s by default, ``$FLIGHTS_LEASE_TTL_S``: longer than an instance outage the worker should
survive). When the run ends the worker marks the lease ended. Redis holds no ownership: losing
the broker (restart, blip) never makes a run look dead; only an expired lease does.
"""
import json
from dataclasses import asdict, dataclass
from typing import Optional

from dagster import DagsterInstance

from flights_etl import settings
from flights_etl.runs.kvs import values_of_runs

KEY_PREFIX = "flights/lease/"
TTL_ENV = settings.LEASE_TTL_S
DEFAULT_TTL_S = 30.0
HEARTBEAT_S = 5.0


def lease_ttl_s() -> float:
    """The lease's time to live, read when asked (never at import)."""
    return settings.number(TTL_ENV, DEFAULT_TTL_S, minimum=HEARTBEAT_S, above=True, why=" (seconds, more than the heartbeat)")


@dataclass(frozen=True)
class Lease:
    owner: str  # "<worker name> pid <pid> on <host>"
    renewed_at: float  # epoch seconds
    expires_at: float
    ended: bool = False  # the owner finished with the run (it ended, or the owner stood down)

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def decode(text: Optional[str]) -> Optional["Lease"]:
        try:
            data = json.loads(text)
            return Lease(str(data["owner"]), float(data["renewed_at"]), float(data["expires_at"]), bool(data.get("ended")))
        except (TypeError, ValueError, KeyError, AttributeError):
            return None


def is_live(lease: Optional[Lease], now: float) -> bool:
    """The run has an owner that renewed it recently and has not finished with it."""
    return lease is not None and not lease.ended and now < lease.expires_at


def why_expired(lease: Optional[Lease], now: float) -> Optional[str]:
    """Why a run with this lease has no live owner, or None if it has one or never had a lease."""
    if lease is None or is_live(lease, now):
        return None
    if lease.ended:
        return f"its worker ({lease.owner}) finished with it without recording its end"
    return (f"its worker ({lease.owner}) stopped renewing its lease {now - lease.renewed_at:.0f} s ago "
            f"(expired after {lease.expires_at - lease.renewed_at:.0f} s): the worker process is gone")


def new_lease(owner: str, now: float, ttl_s: Optional[float] = None) -> Lease:
    ttl = lease_ttl_s() if ttl_s is None else ttl_s
    return Lease(owner, now, now + ttl)


def lease_key(run_id: str) -> str:
    return f"{KEY_PREFIX}{run_id}"


def lease_of(instance: DagsterInstance, run_id: str) -> Optional[Lease]:
    """The run's lease as the instance records it, or None if no worker ever took it."""
    return leases_of(instance, [run_id]).get(run_id)


def leases_of(instance: DagsterInstance, run_ids) -> dict:
    """``{run_id: Lease}`` for those of ``run_ids`` that have one (one query)."""
    return values_of_runs(instance, KEY_PREFIX, run_ids, Lease.decode)


def write_lease(instance: DagsterInstance, run_id: str, lease: Lease) -> None:
    instance.run_storage.kvs_set({lease_key(run_id): lease.encode()})
