"""Stored explanations and per-audience release decisions (for the HTTP service).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "explanation",
        sa.Column("report_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(256)),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("withdrawn_at", TS),
    )
    op.create_table(
        "release_decision",
        sa.Column("report_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("audience", sa.String(256), primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("basis", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("release_decision")
    op.drop_table("explanation")
