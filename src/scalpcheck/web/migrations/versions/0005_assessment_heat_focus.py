"""assessments.heat_focus: where the heat map is strongest, the text equivalent of the heat-map image

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

A key of scalpcheck.serve.explain.FOCUS ("top-left", "centre", "spread", ...); empty for assessments made
before it was measured, whose pages then say nothing of it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("heat_focus", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("heat_focus")
