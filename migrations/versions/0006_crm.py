"""crm: synced CRM records, stage events, cursors, sync runs, SLA alerts; KPI value provenance;
the CRM counterparts of each funnel stage

Revision ID: 0006_crm
Revises: 0005_meetings
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0006_crm"
down_revision = "0005_meetings"
branch_labels = None
depends_on = None

UTC = bot.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "crm_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("stage", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=128), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("owner_email", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("created_at", UTC(), nullable=True),
        sa.Column("modified_at", UTC(), nullable=True),
        sa.Column("closed_at", UTC(), nullable=True),
        sa.Column("is_won", sa.Boolean(), nullable=False),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("first_activity_at", UTC(), nullable=True),
        sa.Column("last_activity_at", UTC(), nullable=True),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("synced_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_records")),
        sa.UniqueConstraint("connector", "object_type", "external_id", name="uq_crm_records_key"),
    )
    op.create_index(op.f("ix_crm_records_modified_at"), "crm_records", ["modified_at"], unique=False)
    op.create_table(
        "crm_stage_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=160), nullable=False),
        sa.Column("entered_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_stage_events")),
        sa.UniqueConstraint("connector", "object_type", "external_id", "stage", name="uq_crm_stage_events_key"),
    )
    op.create_index(op.f("ix_crm_stage_events_entered_at"), "crm_stage_events", ["entered_at"], unique=False)
    op.create_table(
        "crm_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("modified_at", UTC(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_cursors")),
        sa.UniqueConstraint("connector", "object_type", name="uq_crm_cursors_key"),
    )
    op.create_table(
        "crm_sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("connector", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_sync_runs")),
        sa.UniqueConstraint("run_key", name=op.f("uq_crm_sync_runs_run_key")),
    )
    op.create_table(
        "crm_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("sent_at", UTC(), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_alerts")),
        sa.UniqueConstraint("alert_key", name="uq_crm_alerts_key"),
    )
    # Where a KPI value came from: a CRM sync replaces a typed value but keeps it here.
    # Plain ADD/DROP COLUMN (SQLite ≥ 3.35 has both): no table copy, no reflection.
    op.add_column("kpi_values", sa.Column("synced_at", UTC(), nullable=True))
    op.add_column("kpi_values", sa.Column("overridden_value", sa.Float(), nullable=True))
    op.add_column("kpi_values", sa.Column("overridden_source", sa.String(length=16), nullable=True))
    op.add_column("kpi_values", sa.Column("overridden_by", sa.String(length=64), nullable=True))
    # Each funnel stage's CRM counterparts: {"hubspot": [...], "salesforce": [...]}.
    op.add_column("lead_definitions", sa.Column("crm", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_column("lead_definitions", "crm")
    for column in ("overridden_by", "overridden_source", "overridden_value", "synced_at"):
        op.drop_column("kpi_values", column)
    op.drop_table("crm_alerts")
    op.drop_table("crm_sync_runs")
    op.drop_table("crm_cursors")
    op.drop_index(op.f("ix_crm_stage_events_entered_at"), table_name="crm_stage_events")
    op.drop_table("crm_stage_events")
    op.drop_index(op.f("ix_crm_records_modified_at"), table_name="crm_records")
    op.drop_table("crm_records")
