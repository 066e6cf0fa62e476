"""content requests from reps, and the item that answered a gap

Revision ID: 0007_content_requests
Revises: 0006_crm
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0007_content_requests"
down_revision = "0006_crm"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("content_gaps", sa.Column("answered_item_id", sa.Integer(), nullable=True))
    op.create_table(
        "content_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gap_id", sa.Integer(), nullable=False),
        sa.Column("search_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("need", sa.Text(), nullable=False),
        sa.Column("prospect", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("notified_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["gap_id"], ["content_gaps.id"], name=op.f("fk_content_requests_gap_id_content_gaps"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_requests")),
    )
    op.create_index(op.f("ix_content_requests_created_at"), "content_requests", ["created_at"], unique=False)
    op.create_index(op.f("ix_content_requests_gap_id"), "content_requests", ["gap_id"], unique=False)
    op.create_index(op.f("ix_content_requests_user_id"), "content_requests", ["user_id"], unique=False)


def downgrade() -> None:
    for name in ("created_at", "gap_id", "user_id"):
        op.drop_index(op.f(f"ix_content_requests_{name}"), table_name="content_requests")
    op.drop_table("content_requests")
    op.drop_column("content_gaps", "answered_item_id")  # SQLite >= 3.35 drops columns natively
