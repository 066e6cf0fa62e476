"""Models for content (filled in by its feature)."""
