"""idp: levels of assurance — proofing levels replace the assurance names, enrolled factors
(TOTP, passkeys), recovery codes, sign-in history, a client's minimum level.

Existing people keep their level: ``unverified`` becomes 1, ``verified_authority`` 2 and
``verified_in_person`` 4 (an in-person check at a counter is level 4). Existing clients have
no minimum (level 1).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_LEVELS = {
    "unverified": (1, "self"),
    "verified_authority": (2, "authority"),
    "verified_in_person": (4, "counter"),
}


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("proofing_level", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column(
                "proofing_method", sa.String(length=16), nullable=False, server_default="self"
            )
        )
        batch_op.add_column(sa.Column("proofed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("phone_verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("webauthn_handle", sa.LargeBinary(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("deletion_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_users_webauthn_handle"), ["webauthn_handle"]
        )
    users = sa.table(
        "users",
        sa.column("assurance", sa.String),
        sa.column("proofing_level", sa.Integer),
        sa.column("proofing_method", sa.String),
        sa.column("proofed_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    for name, (level, method) in _LEVELS.items():
        proofed_at = users.c.updated_at if level > 1 else None
        op.execute(
            users.update()
            .where(users.c.assurance == name)
            .values(proofing_level=level, proofing_method=method, proofed_at=proofed_at)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("assurance")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_level", sa.Integer(), nullable=True))

    op.create_table(
        "authenticators",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.Column("credential_id", sa.LargeBinary(length=1024), nullable=True),
        sa.Column("public_key", sa.LargeBinary(), nullable=True),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=True),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backup_state", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_authenticators_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authenticators")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_authenticators_credential_id")),
    )
    with op.batch_alter_table("authenticators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authenticators_user_id"), ["user_id"], unique=False)

    op.create_table(
        "recovery_codes",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_recovery_codes")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_codes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sign_in_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("acr", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_in_records_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_records")),
    )
    with op.batch_alter_table("sign_in_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_records_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_records_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("sign_in_records")
    op.drop_table("recovery_codes")
    op.drop_table("authenticators")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("min_level")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "assurance", sa.String(length=32), nullable=False, server_default="unverified"
            )
        )
    users = sa.table(
        "users", sa.column("assurance", sa.String), sa.column("proofing_level", sa.Integer)
    )
    for name, (level, _) in _LEVELS.items():
        op.execute(users.update().where(users.c.proofing_level == level).values(assurance=name))
    op.execute(
        users.update().where(users.c.proofing_level == 3).values(assurance="verified_authority")
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_webauthn_handle"), type_="unique")
        for column in (
            "deletion_requested_at",
            "webauthn_handle",
            "phone_verified",
            "proofed_at",
            "proofing_method",
            "proofing_level",
        ):
            batch_op.drop_column(column)
