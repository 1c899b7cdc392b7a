"""Settings shared by every command: where policies live, which store to use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cache_rules.diagnostics import PolicyError
from cache_rules.loader import LoadResult, PolicyDirError, load_policy_dir
from cache_rules.model import Policy
from cdnctl.errors import CdnctlError, Exit

DEFAULT_POLICY_DIR = "sites"


@dataclass
class Settings:
    policy_dir: Path

    def load(self) -> LoadResult:
        try:
            return load_policy_dir(self.policy_dir)
        except PolicyDirError as exc:
            raise CdnctlError(f"{exc} (set --policy-dir or CDNCTL_POLICY_DIR)", Exit.USAGE) from None

    def policy(self) -> Policy:
        """The valid policy, or a PolicyError carrying every diagnostic."""
        result = self.load()
        if not result.ok:
            raise PolicyError(result.diagnostics)
        return result.policy
