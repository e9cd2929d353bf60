"""users.email and account_links: account recovery by e-mail

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

A user's recovery address is set once a link sent to it was opened; a link (password reset or address
check) is stored as the SHA-256 of its token and deleted when used.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.create_unique_constraint("uq_users_email", ["email"])
    op.create_table(
        "account_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_account_links_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_account_links"),
        sa.UniqueConstraint("token_hash", name="uq_account_links_token_hash"),
    )
    op.create_index("ix_account_links_user_id", "account_links", ["user_id"])
    op.create_index("ix_account_links_expires_at", "account_links", ["expires_at"])


def downgrade():
    op.drop_table("account_links")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_email", type_="unique")
        batch.drop_column("email")
