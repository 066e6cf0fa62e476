"""Models for scheduling (filled in by its feature)."""
