"""Sync watermark, processed report versions, release holds, clinician determinations.

Revision ID: 0001
Revises: (none) — databases made before migrations existed are stamped at this revision
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("fhir_base", sa.String(512), primary_key=True),
        sa.Column("watermark", sa.String(64)),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "processed_report",
        sa.Column("report_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("audience", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("communication_id", sa.String(128)),
        sa.Column("processed_at", TS, nullable=False),
    )
    op.create_table(
        "release_hold",
        sa.Column("communication_key", sa.String(256), primary_key=True),
        sa.Column("communication_id", sa.String(128)),
        sa.Column("report_id", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("audience", sa.String(256), nullable=False),
        sa.Column("basis", sa.String(64), nullable=False),
        sa.Column("until", TS),
        sa.Column("condition", sa.String(256)),
        sa.Column("released_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "harm_determination",
        sa.Column("report_id", sa.String(128), primary_key=True),
        sa.Column("audience", sa.String(256), primary_key=True),
        sa.Column("clinician", sa.String(256), nullable=False),
        sa.Column("harm", sa.String(64), nullable=False),
        sa.Column("made_at", TS, nullable=False),
        sa.Column("review_by", TS, nullable=False),
        sa.Column("lifted_at", TS),
    )


def downgrade() -> None:
    for table in ("harm_determination", "release_hold", "processed_report", "sync_state"):
        op.drop_table(table)
