"""Sensors, run by ``dagster-daemon``: the monthly report follows its days; failed runs raise an alert."""
