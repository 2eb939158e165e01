"""idp: CAS services (legacy department apps that sign people in with CAS 3.0)."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cas_services",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=True),
        sa.Column("single_logout", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cas_services")),
        sa.UniqueConstraint("service", name=op.f("uq_cas_services_service")),
    )


def downgrade() -> None:
    op.drop_table("cas_services")
