"""idp: agent authorisations (经办人授权) — an organisation authorises a person to act for it,
for all business or listed apps, for a period; the person accepts or declines."""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_authorisations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("client_ids", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offered_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=160), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_agent_authorisations_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_authorisations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_authorisations")),
    )
    with op.batch_alter_table("agent_authorisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_authorisations_organisation_id"), ["organisation_id"]
        )
        batch_op.create_index(batch_op.f("ix_agent_authorisations_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_agent_authorisations_status"), ["status"])


def downgrade() -> None:
    with op.batch_alter_table("agent_authorisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_authorisations_status"))
        batch_op.drop_index(batch_op.f("ix_agent_authorisations_user_id"))
        batch_op.drop_index(batch_op.f("ix_agent_authorisations_organisation_id"))
    op.drop_table("agent_authorisations")
