"""User-facing failures: a message and the exit code that says what failed.

Exit codes are part of the interface (CI scripts branch on them):
0 success · 1 invalid input (policy, data) or the job failed · 2 usage error
(bad option, unknown site, missing directory) · 3 partial failure (some targets done) ·
4 busy: another run holds the lock (nothing was done; run again later).
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    INVALID = 1
    USAGE = 2
    PARTIAL = 3
    BUSY = 4


class CdnctlError(Exception):
    def __init__(self, message: str, exit_code: Exit = Exit.INVALID, detail: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.detail = detail
