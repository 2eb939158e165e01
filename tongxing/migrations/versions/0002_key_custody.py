"""keys: KEK parameters, managed keys, CAs, certificates."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_encryption_params",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("scrypt_n", sa.Integer(), nullable=False),
        sa.Column("scrypt_r", sa.Integer(), nullable=False),
        sa.Column("scrypt_p", sa.Integer(), nullable=False),
        sa.Column("check_value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_encryption_params")),
    )
    op.create_table(
        "managed_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("algorithm", sa.String(length=8), nullable=False),
        sa.Column("store", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.LargeBinary(), nullable=True),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_managed_keys")),
    )
    with op.batch_alter_table("managed_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_managed_keys_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_managed_keys_purpose"), ["purpose"], unique=False)
        batch_op.create_index(batch_op.f("ix_managed_keys_state"), ["state"], unique=False)

    op.create_table(
        "certificate_authorities",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("parent", sa.String(length=32), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("crl_number", sa.Integer(), nullable=False),
        sa.Column("last_crl", sa.LargeBinary(), nullable=True),
        sa.Column("crl_stale", sa.Boolean(), nullable=False),
        sa.Column("last_crl_next_update", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["managed_keys.id"],
            name=op.f("fk_certificate_authorities_key_id_managed_keys"),
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_certificate_authorities")),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issuer", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["managed_keys.id"], name=op.f("fk_certificates_key_id_managed_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("issuer", "serial", name=op.f("uq_certificates_issuer")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_issuer"), ["issuer"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_owner"), ["owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_owner"))
        batch_op.drop_index(batch_op.f("ix_certificates_issuer"))

    op.drop_table("certificates")
    op.drop_table("certificate_authorities")
    with op.batch_alter_table("managed_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_managed_keys_state"))
        batch_op.drop_index(batch_op.f("ix_managed_keys_purpose"))
        batch_op.drop_index(batch_op.f("ix_managed_keys_owner"))

    op.drop_table("managed_keys")
    op.drop_table("key_encryption_params")
