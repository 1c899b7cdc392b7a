"""Settings shared by every command: where policies live, which store to use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cdnctl.errors import CdnctlError, Exit

if TYPE_CHECKING:
    from cache_rules.loader import LoadResult
    from cache_rules.model import Policy

DEFAULT_POLICY_DIR = "sites"


@dataclass
class Settings:
    policy_dir: Path

    def load(self) -> LoadResult:
        # Imported here: `cdnctl --help` and commands that never read a policy skip the loader.
        from cache_rules.loader import PolicyDirError, load_policy_dir

        try:
            return load_policy_dir(self.policy_dir)
        except PolicyDirError as exc:
            raise CdnctlError(f"{exc} (set --policy-dir or CDNCTL_POLICY_DIR)", Exit.USAGE) from None

    def policy(self) -> Policy:
        """The valid policy, or a PolicyError carrying every diagnostic."""
        from cache_rules.diagnostics import PolicyError

        result = self.load()
        if not result.ok:
            raise PolicyError(result.diagnostics)
        return result.policy
