"""core: registry of app instances."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_instances",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_instances")),
    )
    op.create_index(
        op.f("ix_app_instances_started_at"), "app_instances", ["started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_app_instances_started_at"), table_name="app_instances")
    op.drop_table("app_instances")
