"""Shared KPIs, targets and digests."""
