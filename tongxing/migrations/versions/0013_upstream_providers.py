"""idp: upstream OpenID providers (the provincial platform) and people's links to them."""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_providers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=128), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("discovery_url", sa.String(length=512), nullable=False),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("claim_map", sa.JSON(), nullable=False),
        sa.Column("acr_map", sa.JSON(), nullable=False),
        sa.Column("amr_map", sa.JSON(), nullable=False),
        sa.Column("trusted_proofing_level", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_providers")),
        sa.UniqueConstraint("issuer", name=op.f("uq_upstream_providers_issuer")),
    )
    op.create_table(
        "upstream_links",
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("upstream_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["upstream_id"],
            ["upstream_providers.id"],
            name=op.f("fk_upstream_links_upstream_id_upstream_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_upstream_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("issuer", "subject", name=op.f("pk_upstream_links")),
    )
    with op.batch_alter_table("upstream_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_upstream_links_upstream_id"), ["upstream_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_upstream_links_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("upstream_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upstream_links_user_id"))
        batch_op.drop_index(batch_op.f("ix_upstream_links_upstream_id"))
    op.drop_table("upstream_links")
    op.drop_table("upstream_providers")
