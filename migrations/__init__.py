"""Alembic migrations for revalign's whole schema (run with `revalign db upgrade`)."""
