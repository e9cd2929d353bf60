"""audit_entries: the audit log a user can read

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Every view, download, report and deletion of a user's data and every account event, with when, from which
address and through the web or the API; removed with the account (ON DELETE CASCADE), whose deletion leaves
one entry without a user that holds counts only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_audit_entries_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_user_created", "audit_entries", ["user_id", "created_at"])


def downgrade():
    op.drop_table("audit_entries")
