"""Real-world log fixtures and their independent reader (see SOURCES.md)."""
