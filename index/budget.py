"""A time budget per file: one huge or pathological file is stopped and reported, and the rest gets indexed.

The check is cooperative (between segmentation windows and between embedding batches), so a file stops
within one such step of its budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from qa.core.errors import IngestError

clock: Callable[[], float] = time.monotonic


class FileBudget:
    def __init__(self, path: Path | str, seconds: float):
        self.path = path
        self.seconds = seconds
        self.spent = 0.0
        self._since: float | None = None

    def __enter__(self) -> FileBudget:
        self._since = clock()
        return self

    def __exit__(self, *exc) -> None:
        if self._since is not None:
            self.spent += clock() - self._since
            self._since = None

    def check(self) -> None:
        """Raises IngestError once the time spent on the file, over all the `with` blocks, passes the budget."""
        spent = self.spent + (clock() - self._since if self._since is not None else 0.0)
        if spent > self.seconds:
            raise IngestError(
                f"{self.path}: not indexed, it needed more than {self.seconds:g} s, the time budget for one file",
                hint="split it into smaller files, or raise ingest.max_seconds_per_file",
            )
