"""What the pipelines, sensors and command lines ask of the warehouse, whatever its backend.

Writers replace a whole partition (a day of flights, weather and daily_delays, or a month of
monthly_report) in one transaction: a re-run never duplicates, a failed write leaves the
previous rows. Readers never create anything: a warehouse nobody has written to yet reads as
empty. Each backend (``duckdb_backend``, ``postgres_backend``) supplies a transaction and a
query; the SQL here is the dialect both understand, with ``?`` for parameters.
"""
from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from flights_etl.dates import month_end, month_start
from flights_etl.warehouse.tables import (
    DAILY_TABLES,
    FILES_COLUMNS,
    FILES_TABLE,
    LOADS_COLUMNS,
    LOADS_TABLE,
    PARTITION_KEYS,
    column_names,
)

if TYPE_CHECKING:  # pandas is imported when a frame is read or written, not with the repository
    import pandas as pd

DAILY, MONTHLY = "daily", "monthly"  # the scopes of table partition_loads


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached, opened or written; the message names it (never a password)."""


class RowsOfAnotherDay(ValueError):
    """A write would put rows dated another day into a day's partition."""


class Fenced(WarehouseError):
    """A run that no longer owns its partition tried to commit it; its transaction was rolled back."""


class PartitionOwner(ABC):
    """The run writing a partition, as the warehouse checks it inside the write's own transaction.

    Fencing: a run declared dead, terminated, or superseded may still be executing somewhere (a
    frozen process, a network cut) and reach its commit late. The warehouse records, in the same
    transaction as the data, which run committed each partition, its ``token`` (the run's place in
    the order runs were created: a retry or any later run of the partition has a larger one) and the
    digest of the files it was built from; just before committing it asks the owner whether it may.
    """

    run_id: str
    token: int
    scope: Optional[str]  # whose tokens: the instance that numbered the runs

    @abstractmethod
    def why_not_owner(self) -> Optional[str]:
        """Why this run no longer owns anything (declared dead, terminated, ended), or None."""

    @abstractmethod
    def outranked_by(self, run_id: Optional[str], token: Optional[int], scope: Optional[str]) -> bool:
        """Whether the run that committed the partition last (``run_id``, ``token`` numbered by ``scope``)
        is newer than this one."""


class Warehouse(ABC):
    """The warehouse interface: partition writes and the few reads the project needs."""

    _owner: Optional[PartitionOwner] = None  # the run every partition write is fenced by

    def owned_by(self, owner: Optional[PartitionOwner]) -> "Warehouse":
        """This warehouse with every partition write fenced by ``owner`` (a run's resource gives its run)."""
        owned = copy.copy(self)
        owned._owner = owner
        return owned

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the warehouse is, fit to print (a file path, or a URL without its password)."""

    # --- writes ---------------------------------------------------------------------------

    def replace_partition(
        self, day: date, tables: Mapping[str, pd.DataFrame], owner: Optional[PartitionOwner] = None,
        source: Optional[str] = None, files: Sequence[Mapping] = (),
    ) -> Dict[str, int]:
        """Replace ``day``'s rows of flights, weather and daily_delays in one transaction; rows per table.

        Refuses (before writing anything) rows whose year/month/day is not ``day``, whatever the
        run's config said. With an ``owner``, commits only if it still owns the day (``Fenced``).
        ``source`` is a digest of the files the rows were built from, recorded with the load, and
        ``files`` those files (dataset, path, size, sha256, gap), recorded in table partition_files.
        """
        if set(tables) != set(DAILY_TABLES):
            raise ValueError(f"a day's partition is {DAILY_TABLES}, got {tuple(tables)}")
        for table in ("flights", "weather"):
            _check_rows_of_day(table, tables[table], day)
        staged = {table: _staged(table, frame, day) for table, frame in tables.items()}
        try:
            self._replace(staged, day, _Load(DAILY, day, day.isoformat(), owner or self._owner, source, files))
        except _AlreadyLoaded:
            pass  # the same rows are there already, committed by a newer run
        return {table: len(frame) for table, frame in tables.items()}

    def replace_month(self, month: date, report: pd.DataFrame, owner: Optional[PartitionOwner] = None) -> int:
        """Replace the monthly_report rows of ``month``'s month in one transaction; rows written."""
        start = month_start(month)
        self._replace({"monthly_report": _staged("monthly_report", report, start)}, start,
                      _Load(MONTHLY, start, f"{start:%Y-%m}", owner or self._owner, None))
        return len(report)

    # --- reads ----------------------------------------------------------------------------

    def loaded_days(self, start: date, end: date) -> List[date]:
        """Days in [start, end] that have rows in table flights, in order."""
        frame = self._read(
            "SELECT DISTINCT partition_date FROM flights WHERE partition_date BETWEEN ? AND ? ORDER BY 1",
            [start, end],
        )
        return [_as_date(value) for value in frame["partition_date"]] if not frame.empty else []

    def flights_between(self, start: date, end: date, columns: Sequence[str]) -> pd.DataFrame:
        """``columns`` of every flight loaded for a day in [start, end]."""
        unknown = set(columns) - set(column_names("flights"))
        if unknown:
            raise ValueError(f"table flights has no columns {sorted(unknown)}")
        return self._read(
            f"SELECT {', '.join(columns)} FROM flights WHERE partition_date BETWEEN ? AND ? "
            "ORDER BY partition_date, sched_dep_time, flight",
            [start, end],
            empty_columns=columns,
        )

    def month_flights(self, month: date, columns: Sequence[str]) -> pd.DataFrame:
        return self.flights_between(month_start(month), month_end(month), columns)

    def rows_per_day(self, start: date, end: date) -> pd.DataFrame:
        """Per loaded day in [start, end]: ``partition_date``, ``flights`` and ``weather`` rows."""
        frame = self._read(
            """SELECT f.partition_date, f.flights, coalesce(w.weather, 0) AS weather
               FROM (SELECT partition_date, count(*) AS flights FROM flights
                     WHERE partition_date BETWEEN ? AND ? GROUP BY partition_date) f
               LEFT JOIN (SELECT partition_date, count(*) AS weather FROM weather
                          WHERE partition_date BETWEEN ? AND ? GROUP BY partition_date) w
               ON f.partition_date = w.partition_date
               ORDER BY f.partition_date""",
            [start, end, start, end],
            empty_columns=["partition_date", "flights", "weather"],
        )
        frame["partition_date"] = [_as_date(value) for value in frame["partition_date"]]
        return frame.astype({"flights": "int64", "weather": "int64"})

    def carrier_departure_delays(self, start: date, end: date) -> pd.DataFrame:
        """Per carrier over [start, end], from the flights themselves: ``flights``, ``departed``
        (with a departure delay) and ``dep_delay_mean`` over the departed ones."""
        frame = self._read(
            """SELECT carrier, count(*) AS flights, count(dep_delay) AS departed, avg(dep_delay) AS dep_delay_mean
               FROM flights WHERE partition_date BETWEEN ? AND ? GROUP BY carrier ORDER BY carrier""",
            [start, end],
            empty_columns=["carrier", "flights", "departed", "dep_delay_mean"],
        )
        return frame.astype({"flights": "int64", "departed": "int64", "dep_delay_mean": "float64"})

    def monthly_report(self, month: date) -> pd.DataFrame:
        """The stored monthly_report rows of ``month``'s month, by carrier (empty if not built)."""
        columns = [name for name in column_names("monthly_report") if name != "month_start"]
        return self._read(
            f"SELECT {', '.join(columns)} FROM monthly_report WHERE month_start = ? ORDER BY carrier",
            [month_start(month)],
            empty_columns=columns,
        )

    def last_loads(self, scope: str = DAILY) -> pd.DataFrame:
        """Per loaded partition of ``scope``: ``partition_key``, the ``run_id`` that committed it last, its
        ``fence_token`` (None for a write made outside a run) and the ``source`` digest of its files."""
        return self._read(
            f"SELECT partition_key, run_id, fence_token, source FROM {LOADS_TABLE} WHERE scope = ? ORDER BY partition_key",
            [scope],
            empty_columns=["partition_key", "run_id", "fence_token", "source"],
        )

    def last_sources(self) -> Dict[str, Optional[str]]:
        """The ``source`` digest of every loaded day (None when its load recorded none), by partition
        name: ``last_loads`` without building a frame (``status``, a landing sensor tick)."""
        found = self._query_rows(
            f"SELECT partition_key, source FROM {LOADS_TABLE} WHERE scope = ? ORDER BY partition_key", [DAILY]
        )
        _columns, rows = found if found is not None else ([], [])
        return {_as_date(key).isoformat(): source if isinstance(source, str) else None for key, source in rows}

    def loaded_files(self) -> pd.DataFrame:
        """Per source file of every loaded day: ``partition_key``, ``dataset``, ``path``, ``size``,
        ``sha256`` and ``gap`` (why a weather file gave no rows), as the day's last load recorded them."""
        names = [name for name, _ in FILES_COLUMNS]
        frame = self._read(
            f"SELECT {', '.join(names)} FROM {FILES_TABLE} ORDER BY partition_key, dataset", [], empty_columns=names
        )
        return frame.astype(object).where(frame.notna(), None)  # a column of NULLs reads as None on both backends

    # --- what a backend provides ------------------------------------------------------------

    @abstractmethod
    def _replace(self, staged: Mapping[str, pd.DataFrame], key: date, load: "_Load") -> None:
        """In one transaction, per table: delete the rows whose partition key is ``key``, insert
        ``staged[table]`` (columns in table order), then ``load.fence_and_record``; create the tables
        first if they are missing."""

    @abstractmethod
    def _query(self, sql: str, params: Sequence) -> pd.DataFrame:
        """Run a read-only query; None when the warehouse or its tables do not exist yet."""

    def _query_rows(self, sql: str, params: Sequence) -> Optional[Tuple[List[str], List[tuple]]]:
        """``_query``'s answer as its column names and rows; a backend answers it without pandas."""
        frame = self._query(sql, params)
        if frame is None:
            return None
        return list(frame.columns), list(frame.itertuples(index=False, name=None))

    def _read(self, sql: str, params: Sequence, empty_columns: Sequence[str] = ()) -> pd.DataFrame:
        frame = self._query(sql, params)
        if frame is None:
            import pandas as pd

            return pd.DataFrame({name: [] for name in empty_columns})
        return frame


class _AlreadyLoaded(Exception):
    """A newer run committed the partition from the same files: this write changes nothing (rolled back)."""


class _Load:
    """One partition write's entry in table partition_loads, and the fencing check before it."""

    def __init__(self, scope: str, key: date, partition: str, owner: Optional[PartitionOwner], source: Optional[str],
                 files: Sequence[Mapping] = ()):
        self.scope, self.key, self.partition, self.owner, self.source = scope, key, partition, owner, source
        self.files = files

    def fence_and_record(self, execute: Callable[..., Optional[tuple]]) -> None:
        """Inside the write's transaction, after the data and just before the commit: raise ``Fenced``
        (the caller rolls back) unless the owner still owns the partition, else record the load.
        A newer run's commit outranks this one, unless it was built from the very same files (same
        ``source`` digest): then the write is dropped as a no-op (``_AlreadyLoaded``), so overlapping
        backfills of unchanged files never fail each other.
        ``execute(sql, params, fetch=False)`` runs SQL with ``?`` parameters; with fetch, returns the first row."""
        where, key = "WHERE scope = ? AND partition_key = ?", [self.scope, self.key]
        last = execute(f"SELECT run_id, fence_token, source, fence_scope FROM {LOADS_TABLE} {where}", key, fetch=True)
        owner = self.owner
        if owner is not None:
            reason = owner.why_not_owner()
            if reason is None and last is not None and owner.outranked_by(last[0], last[1], last[3]):
                if self.source is not None and last[2] == self.source:
                    raise _AlreadyLoaded()
                reason = f"a newer run of the partition ({last[0]}) has committed it since, from other files"
            if reason:
                raise Fenced(
                    f"refusing to commit partition {self.partition} for run {owner.run_id}: {reason}; "
                    "nothing was written"
                )
        execute(f"DELETE FROM {LOADS_TABLE} {where}", key)
        columns = ", ".join(name for name, _ in LOADS_COLUMNS)
        execute(
            f"INSERT INTO {LOADS_TABLE} ({columns}) VALUES ({', '.join('?' for _ in LOADS_COLUMNS)})",
            [*key, owner.run_id if owner else None, owner.token if owner else None, owner.scope if owner else None,
             self.source,
             datetime.now(timezone.utc).replace(tzinfo=None)],
        )
        if self.scope == DAILY:  # the day's files, replaced with it (none recorded: none claimed)
            execute(f"DELETE FROM {FILES_TABLE} WHERE partition_key = ?", [self.key])
            names = [name for name, _ in FILES_COLUMNS]
            for entry in self.files:
                execute(f"INSERT INTO {FILES_TABLE} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                        [self.key, *(entry.get(name) for name in names[1:])])


def _check_rows_of_day(table: str, frame: pd.DataFrame, day: date) -> None:
    if frame.empty:
        return
    wrong = (frame["year"] != day.year) | (frame["month"] != day.month) | (frame["day"] != day.day)
    if wrong.any():
        first = frame[wrong].iloc[0]
        raise RowsOfAnotherDay(
            f"refusing to load {int(wrong.sum())} rows dated {int(first['year'])}-{int(first['month']):02d}-"
            f"{int(first['day']):02d} into partition {day.isoformat()} of table {table}: nothing was written"
        )


def _staged(table: str, frame: pd.DataFrame, key: date) -> pd.DataFrame:
    """The rows as the table stores them: the partition key column set, columns in table order."""
    import pandas as pd

    return frame.assign(**{PARTITION_KEYS[table]: pd.Timestamp(key)})[list(column_names(table))]


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value
