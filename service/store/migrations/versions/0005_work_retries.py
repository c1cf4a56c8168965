"""Work items remember failed attempts: when to try again, and why the last try failed.

A report whose FHIR calls keep failing is tried again later (with backoff) instead of
stopping the worker, and after too many attempts it is set aside as ``failed`` where an
operator can see it, instead of being retried for ever.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_item") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_error", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("work_item") as batch:
        batch.drop_column("last_error")
        batch.drop_column("not_before")
        batch.drop_column("attempts")
