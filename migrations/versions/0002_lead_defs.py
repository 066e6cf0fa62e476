"""lead_defs: definitions, their versions, and change proposals

Revision ID: 0002_lead_defs
Revises: 0001_foundation
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0002_lead_defs"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("disqualifiers", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=16), nullable=False),
        sa.Column("next_action", sa.Text(), nullable=False),
        sa.Column("sla", sa.Text(), nullable=False),
        sa.Column("handoff", sa.Text(), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("reviewed_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_definitions")),
        sa.UniqueConstraint("key", name=op.f("uq_lead_definitions_key")),
    )
    op.create_table(
        "lead_definition_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_definition_versions")),
        sa.UniqueConstraint("key", "version", name="uq_lead_definition_versions_key_version"),
    )
    op.create_index(op.f("ix_lead_definition_versions_key"), "lead_definition_versions", ["key"], unique=False)
    op.create_table(
        "lead_definition_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("proposed", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("proposer", sa.String(length=32), nullable=False),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("marketing_approver", sa.String(length=32), nullable=True),
        sa.Column("marketing_approved_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.Column("sales_approver", sa.String(length=32), nullable=True),
        sa.Column("sales_approved_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.Column("rejected_by", sa.String(length=32), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.Column("resulting_version", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_definition_proposals")),
    )
    op.create_index(op.f("ix_lead_definition_proposals_key"), "lead_definition_proposals", ["key"], unique=False)
    op.create_index(op.f("ix_lead_definition_proposals_status"), "lead_definition_proposals", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lead_definition_proposals_status"), table_name="lead_definition_proposals")
    op.drop_index(op.f("ix_lead_definition_proposals_key"), table_name="lead_definition_proposals")
    op.drop_table("lead_definition_proposals")
    op.drop_index(op.f("ix_lead_definition_versions_key"), table_name="lead_definition_versions")
    op.drop_table("lead_definition_versions")
    op.drop_table("lead_definitions")
