"""users.session_epoch: a logout ends every session of the user

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Sessions live in signed cookies; a login records the user's epoch in its session and a logout advances it,
so a copy of a cookie made before the logout no longer logs anyone in. Sessions from before this migration
carry no epoch and end once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("users") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("session_epoch")
