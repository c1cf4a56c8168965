"""Audit trail: who did what to which report through the API, and what came of it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("on_behalf_of", sa.String(256)),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("report_id", sa.String(128)),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("request_id", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("audit_event")
