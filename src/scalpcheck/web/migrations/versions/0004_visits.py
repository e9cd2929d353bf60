"""visits: one to four photos of one task taken together; assessments.visit_id and assessments.region

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A single-photo assessment has no visit. A visit's photos are assessments with its id, each tagged with the
region of the scalp it shows (or none); deleting a visit deletes them (ON DELETE CASCADE).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_visits_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    op.create_index("ix_visits_user_task_created", "visits", ["user_id", "task", "created_at"])
    with op.batch_alter_table("assessments") as batch:  # SQLite adds a foreign key by rebuilding the table
        batch.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("region", sa.String(length=16), nullable=True))
        batch.create_foreign_key(
            op.f("fk_assessments_visit_id_visits"), "visits", ["visit_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index(op.f("ix_assessments_visit_id"), ["visit_id"])


def downgrade():
    with op.batch_alter_table("assessments") as batch:
        batch.drop_index(op.f("ix_assessments_visit_id"))
        batch.drop_constraint(op.f("fk_assessments_visit_id_visits"), type_="foreignkey")
        batch.drop_column("region")
        batch.drop_column("visit_id")
    op.drop_index("ix_visits_user_task_created", table_name="visits")
    op.drop_table("visits")
