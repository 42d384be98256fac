"""``FlightsInstance`` (instance_class of every shipped dagster.yaml): a run's planned-asset events
as Dagster records them, without reconfiguring logging, so run creation never deadlocks."""
import logging
import logging.config
import threading

from dagster import DagsterEventType, DagsterInstance

from flights_etl.instance.dagster_instance import FlightsInstance
from tests.backfill.cli_helpers import SHIPPED_YAML
from tests.helpers import daily_run_args


def _instance(path, yaml_text):
    path.mkdir()
    (path / "dagster.yaml").write_text(yaml_text)
    return DagsterInstance.from_config(str(path))


def _planned(instance, run_id):
    return [(r.level, r.user_message, r.dagster_event.message, r.dagster_event.asset_key, r.step_key)
            for r in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED)]


def test_the_shipped_instance_records_the_planned_assets_as_dagster_does_without_dictconfig(tmp_path, monkeypatch):
    configured = []
    real = logging.config.dictConfig
    monkeypatch.setattr(logging.config, "dictConfig", lambda config: (configured.append(config), real(config)))
    with open(SHIPPED_YAML) as handle:
        ours = _instance(tmp_path / "ours", handle.read())
    stock = _instance(tmp_path / "stock", "telemetry:\n  enabled: false\n")
    with ours, stock:
        assert type(ours) is FlightsInstance and type(stock) is DagsterInstance
        mine = ours.create_run_for_pipeline(**daily_run_args("2013-01-05"))
        assert configured == []  # no logging reconfiguration: nothing to deadlock on
        theirs = stock.create_run_for_pipeline(**daily_run_args("2013-01-05"))
        assert configured  # Dagster's own reconfigures logging for every planned asset
        assert len(_planned(ours, mine.run_id)) == 3
        assert _planned(ours, mine.run_id) == _planned(stock, theirs.run_id)


def test_a_run_is_created_while_another_thread_is_inside_a_log_handler(tmp_path):
    """What stopped the daemon: one thread writing a log record (holding its handler's lock) while
    another creates a run. The run is created; the writer then finishes too."""
    inside, release = threading.Event(), threading.Event()

    class Slow(logging.Handler):
        def emit(self, record):
            inside.set()
            release.wait(30)

    logger = logging.getLogger("flights_test_slow_handler")
    handler = Slow()
    logger.addHandler(handler)
    writer = threading.Thread(target=logger.warning, args=("a record",), daemon=True)
    with open(SHIPPED_YAML) as handle:
        instance = _instance(tmp_path / "home", handle.read())
    try:
        writer.start()
        assert inside.wait(10)
        created = []
        creator = threading.Thread(target=lambda: created.append(instance.create_run_for_pipeline(**daily_run_args("2013-01-06"))),
                                   daemon=True)
        creator.start()
        creator.join(30)
        assert created, "creating a run waited on the logging handler another thread holds"
    finally:
        release.set()
        writer.join(10)
        logger.removeHandler(handler)
        instance.dispose()
