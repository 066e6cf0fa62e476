"""content: library, embedding cache, change log, searches, usage events, gaps, learned phrasings

Revision ID: 0003_content
Revises: 0002_lead_defs
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0003_content"
down_revision = "0002_lead_defs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('content_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_changes'))
    )
    op.create_index(op.f('ix_content_changes_changed_at'), 'content_changes', ['changed_at'], unique=False)
    op.create_index(op.f('ix_content_changes_item_id'), 'content_changes', ['item_id'], unique=False)
    op.create_table('content_embeddings',
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('model_id', 'text_hash', name=op.f('pk_content_embeddings'))
    )
    op.create_table('content_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=32), nullable=False),
    sa.Column('search_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_events'))
    )
    op.create_index(op.f('ix_content_events_created_at'), 'content_events', ['created_at'], unique=False)
    op.create_index(op.f('ix_content_events_item_id'), 'content_events', ['item_id'], unique=False)
    op.create_index(op.f('ix_content_events_kind'), 'content_events', ['kind'], unique=False)
    op.create_index(op.f('ix_content_events_search_id'), 'content_events', ['search_id'], unique=False)
    op.create_table('content_gaps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('objection', sa.String(length=500), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_seen', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_seen', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_by', sa.String(length=32), nullable=True),
    sa.Column('resolved_at', bot.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_gaps'))
    )
    op.create_index(op.f('ix_content_gaps_last_seen'), 'content_gaps', ['last_seen'], unique=False)
    op.create_index(op.f('ix_content_gaps_status'), 'content_gaps', ['status'], unique=False)
    op.create_table('content_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('persona', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('objections', sa.JSON(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_items')),
    sa.UniqueConstraint('url', name=op.f('uq_content_items_url'))
    )
    op.create_table('content_searches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=32), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('result_ids', sa.JSON(), nullable=False),
    sa.Column('confident', sa.Boolean(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('gap_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_searches'))
    )
    op.create_index(op.f('ix_content_searches_created_at'), 'content_searches', ['created_at'], unique=False)
    op.create_index(op.f('ix_content_searches_gap_id'), 'content_searches', ['gap_id'], unique=False)
    op.create_index(op.f('ix_content_searches_user_id'), 'content_searches', ['user_id'], unique=False)
    op.create_table('content_learned',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('phrasing', sa.String(length=500), nullable=False),
    sa.Column('added_by', sa.String(length=32), nullable=False),
    sa.Column('search_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['content_items.id'], name=op.f('fk_content_learned_item_id_content_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_learned')),
    sa.UniqueConstraint('item_id', 'phrasing', name=op.f('uq_content_learned_item_id'))
    )
    op.create_index(op.f('ix_content_learned_item_id'), 'content_learned', ['item_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_content_learned_item_id"), table_name="content_learned")
    op.drop_table("content_learned")
    for name in ("created_at", "gap_id", "user_id"):
        op.drop_index(op.f(f"ix_content_searches_{name}"), table_name="content_searches")
    op.drop_table("content_searches")
    op.drop_table("content_items")
    for name in ("last_seen", "status"):
        op.drop_index(op.f(f"ix_content_gaps_{name}"), table_name="content_gaps")
    op.drop_table("content_gaps")
    for name in ("created_at", "item_id", "kind", "search_id"):
        op.drop_index(op.f(f"ix_content_events_{name}"), table_name="content_events")
    op.drop_table("content_events")
    op.drop_table("content_embeddings")
    for name in ("changed_at", "item_id"):
        op.drop_index(op.f(f"ix_content_changes_{name}"), table_name="content_changes")
    op.drop_table("content_changes")
