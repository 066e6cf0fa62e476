"""governance: two distinct approvers, admin overrides in history, reviews, biweekly anchors, action reminders

Revision ID: 0008_governance
Revises: 0007_content_requests
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0008_governance"
down_revision = "0007_content_requests"
branch_labels = None
depends_on = None

# The same person can never be both approvers (nor approve their own proposal), even if their role
# changed between the two clicks.
TWO_PEOPLE = (
    "marketing_approver IS NULL OR sales_approver IS NULL OR marketing_approver <> sales_approver"
)
NOT_THE_PROPOSER = (
    "(marketing_approver IS NULL OR marketing_approver <> proposer) "
    "AND (sales_approver IS NULL OR sales_approver <> proposer)"
)


def upgrade() -> None:
    with op.batch_alter_table("lead_definition_proposals") as batch:
        batch.create_check_constraint(op.f("ck_lead_definition_proposals_two_people"), TWO_PEOPLE)
        batch.create_check_constraint(op.f("ck_lead_definition_proposals_not_the_proposer"), NOT_THE_PROPOSER)
    with op.batch_alter_table("lead_definition_versions") as batch:
        batch.add_column(sa.Column("override_by", sa.String(length=32), nullable=True))
    op.create_table(
        "lead_definition_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("completed_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_definition_reviews")),
    )
    op.create_index(op.f("ix_lead_definition_reviews_key"), "lead_definition_reviews", ["key"], unique=False)
    with op.batch_alter_table("schedules") as batch:
        batch.add_column(sa.Column("anchor_date", sa.Date(), nullable=True))
    op.create_table(
        "action_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("sent_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["action_items.id"],
                                name=op.f("fk_action_reminders_action_id_action_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_reminders")),
        sa.UniqueConstraint("action_id", "recipient", "period", name="uq_action_reminders_key"),
    )


def downgrade() -> None:
    op.drop_table("action_reminders")
    with op.batch_alter_table("schedules") as batch:
        batch.drop_column("anchor_date")
    op.drop_index(op.f("ix_lead_definition_reviews_key"), table_name="lead_definition_reviews")
    op.drop_table("lead_definition_reviews")
    with op.batch_alter_table("lead_definition_versions") as batch:
        batch.drop_column("override_by")
    with op.batch_alter_table("lead_definition_proposals") as batch:
        batch.drop_constraint(op.f("ck_lead_definition_proposals_not_the_proposer"), type_="check")
        batch.drop_constraint(op.f("ck_lead_definition_proposals_two_people"), type_="check")
