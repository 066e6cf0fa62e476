"""Models for lead_defs (filled in by its feature)."""
