"""Break a landed file the way an upstream drop might."""
import os
from datetime import date


def break_flights_file(landing_dir: str, day: date) -> None:
    """Put a non-numeric dep_delay on line 7 of the day's flights file (read_flights must fail)."""
    path = os.path.join(landing_dir, "flights", f"{day.isoformat()}.csv")
    with open(path) as handle:
        lines = handle.readlines()
    fields = lines[6].split(",")
    fields[5] = "late"
    lines[6] = ",".join(fields)
    with open(path, "w") as handle:
        handle.writelines(lines)
