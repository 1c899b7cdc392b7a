"""cdnctl: one command line over cache policies, edge configs, flush, logs and reports."""

__version__ = "0.1.0"
