"""kpis: KPI values and shared targets

Revision ID: 0004_kpis
Revises: 0003_content
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0004_kpis"
down_revision = "0003_content"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_values")),
        sa.UniqueConstraint("metric", "period", name=op.f("uq_kpi_values_metric")),
    )
    with op.batch_alter_table("kpi_values", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_values_period"), ["period"], unique=False)

    op.create_table(
        "kpi_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_targets")),
        sa.UniqueConstraint("metric", "effective_from", name=op.f("uq_kpi_targets_metric")),
    )


def downgrade() -> None:
    op.drop_table("kpi_targets")
    with op.batch_alter_table("kpi_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_values_period"))
    op.drop_table("kpi_values")
