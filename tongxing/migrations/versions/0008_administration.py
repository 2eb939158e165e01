"""admin: platform roles (三权分立), role changes awaiting a second person, client owners,
seal applications, grants that wait for approval, and account locks.

Existing grants were approved when they were made (``approved_by`` set, status active), so
they keep working; ``requested_by`` stays NULL for them (nobody asked through the rule
book). Existing clients have no owning organisation.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "platform_roles",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("granted_by", sa.String(length=160), nullable=False),
        sa.Column("confirmed_by", sa.String(length=160), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_platform_roles_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_platform_roles")),
    )
    with op.batch_alter_table("platform_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_platform_roles_role"), ["role"], unique=False)

    op.create_table(
        "admin_role_changes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=160), nullable=False),
        sa.Column("decided_by", sa.String(length=160), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_role_changes")),
    )
    with op.batch_alter_table("admin_role_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_role_changes_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_admin_role_changes_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "seal_applications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organisation_uscc", sa.String(length=18), nullable=False),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applicant", sa.String(length=160), nullable=False),
        sa.Column("decided_by", sa.String(length=160), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("seal_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seal_applications")),
    )
    with op.batch_alter_table("seal_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seal_applications_organisation_uscc"),
            ["organisation_uscc"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_seal_applications_status"), ["status"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_organisation_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_clients_owner_organisation_id"), ["owner_organisation_id"], unique=False
        )

    with op.batch_alter_table("seal_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.String(length=160), nullable=True))
        batch_op.alter_column(
            "approved_by",
            existing_type=sa.String(length=64),
            type_=sa.String(length=160),
            nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("seal_grants", schema=None) as batch_op:
        batch_op.alter_column(
            "approved_by",
            existing_type=sa.String(length=160),
            type_=sa.String(length=64),
            nullable=False,
        )
        batch_op.drop_column("requested_by")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_owner_organisation_id"))
        batch_op.drop_column("owner_organisation_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locked")
    op.drop_table("seal_applications")
    op.drop_table("admin_role_changes")
    op.drop_table("platform_roles")
