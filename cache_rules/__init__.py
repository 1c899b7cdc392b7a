"""Vendor-neutral cache policy: model, loader, validator and resolver (SPEC §1–2)."""

from cache_rules.diagnostics import Diagnostic, Severity
from cache_rules.loader import load_policy_dir, load_policy_file
from cache_rules.model import Override, Policy, Rule, SitePolicy
from cache_rules.resolve import Decision, Request, resolve

__all__ = [
    "Decision",
    "Diagnostic",
    "Override",
    "Policy",
    "Request",
    "Rule",
    "Severity",
    "SitePolicy",
    "load_policy_dir",
    "load_policy_file",
    "resolve",
]
