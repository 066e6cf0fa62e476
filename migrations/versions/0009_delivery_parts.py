"""delivery parts: what of a delivery Slack confirmed, and whether its outcome is in doubt

Revision ID: 0009_delivery_parts
Revises: 0008_governance
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_delivery_parts"
down_revision = "0008_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("parts", sa.Text(), nullable=True))
        batch.add_column(sa.Column("in_doubt", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("in_doubt")
        batch.drop_column("parts")
