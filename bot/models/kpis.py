"""Models for kpis (filled in by its feature)."""
