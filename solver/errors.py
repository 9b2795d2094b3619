"""The solver's errors; it never imports the control room's error tree.

::

    ValueError
     +-- InstanceFormatError   a benchmark or solution file is malformed
                               (``path`` and ``line`` name the place)
"""

from __future__ import annotations

from pathlib import Path


class InstanceFormatError(ValueError):
    """A benchmark instance or solution file does not follow its format."""

    def __init__(self, message: str, *, path: Path, line: int | None = None) -> None:
        where = f"{path}" if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
