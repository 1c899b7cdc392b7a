"""Local stand-ins for purge endpoints and vendor APIs, started by the tests (real HTTP on loopback)."""
