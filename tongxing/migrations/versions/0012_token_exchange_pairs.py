"""idp: token exchange (RFC 8693) — the apps allowed to exchange their access tokens for
tokens aimed at one of our resource servers, with the scopes they may get there."""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "token_exchange_pairs",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_token_exchange_pairs_client_id_clients"),
        ),
        sa.PrimaryKeyConstraint("client_id", "resource", name=op.f("pk_token_exchange_pairs")),
    )


def downgrade() -> None:
    op.drop_table("token_exchange_pairs")
