"""Progress of a backfill: a live bar on a terminal, one plain line per partition elsewhere."""
import sys
import time
from typing import IO, List, Optional

from tabulate import tabulate

from flights_etl.backfill.driver import PartitionOutcome
from flights_etl.errors import first_line

BAR_WIDTH = 30


class Progress:
    """Counts finished partitions and shows done / failed / remaining, the rate and the ETA."""

    def __init__(self, total: int, stream: IO = sys.stderr, is_tty: Optional[bool] = None):
        self.total = total
        self.stream = stream
        self.is_tty = stream.isatty() if is_tty is None else is_tty
        self.started = time.monotonic()
        self.succeeded = 0
        self.failed = 0

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    def update(self, outcome: PartitionOutcome) -> None:
        if outcome.status == "SUCCESS":
            self.succeeded += 1
        else:
            self.failed += 1
        if self.is_tty:
            self.stream.write("\r" + self._bar_line())
        else:
            self.stream.write(
                f"[{self.done:>{len(str(self.total))}}/{self.total}] {outcome.partition} {outcome.status} "
                f"{outcome.seconds:.2f}s run {outcome.run_id[:8]}  ({self._counts()})\n"
            )
        self.stream.flush()

    def finish(self) -> None:
        if self.is_tty:
            self.stream.write("\n")
            self.stream.flush()

    def _bar_line(self) -> str:
        filled = int(BAR_WIDTH * self.done / max(self.total, 1))
        return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total}  {self._counts()}  "

    def _counts(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        remaining = self.total - self.done
        eta = f"{remaining / rate:.0f}s" if rate > 0 else "?"
        return f"ok {self.succeeded}, failed {self.failed}, left {remaining}, {rate:.1f}/s, ETA {eta}"


def summary_table(outcomes: List[PartitionOutcome], wall_seconds: float, stopped: Optional[str] = None,
                  width: Optional[int] = None) -> str:
    """Counts per status, the failed partitions with their first error, and the timing. With a
    ``width`` (the CLI gives its terminal's), the error column wraps so the table fits it; without
    one (output to a file or a pipe) each error stays on one line, whole, for grep."""
    counts = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    lines = [tabulate(sorted(counts.items()), headers=["status", "partitions"], tablefmt="simple")]
    failed = sorted((o for o in outcomes if o.status != "SUCCESS"), key=lambda o: o.partition)
    if failed:
        headers = ["partition", "status", "run", "error"]
        rows = [(o.partition, o.status, o.run_id[:8], first_line(o.error)) for o in failed]
        # tabulate's "simple" columns: at least the header + 2 wide, two spaces between columns
        fixed = sum(max(len(header) + 2, *(len(str(row[index])) for row in rows)) + 2
                    for index, header in enumerate(headers[:3]))
        error_width = max(20, width - fixed) if width else None
        lines.append("")
        lines.append(tabulate(rows, headers=headers, tablefmt="simple", maxcolwidths=[None, None, None, error_width]))
    per_partition = wall_seconds / len(outcomes) if outcomes else 0.0
    lines.append("")
    lines.append(
        f"{len(outcomes)} partitions in {wall_seconds:.1f}s ({per_partition:.2f}s per partition)"
        + (f"; {stopped}" if stopped else "")
    )
    return "\n".join(lines)
