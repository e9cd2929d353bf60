"""assessments.density*: a hair-loss assessment's density reading, its interval and the model's smallest
detectable change

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

All four are empty for assessments of models without a density measurement, and for every assessment made
before this migration.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("density", "density_low", "density_high", "density_sdc")


def upgrade():
    for name in COLUMNS:
        op.add_column("assessments", sa.Column(name, sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("assessments") as batch:  # SQLite drops a column by rebuilding the table
        for name in reversed(COLUMNS):
            batch.drop_column(name)
