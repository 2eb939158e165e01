"""audit: the log's origin stored with the log; SHA-256 of the files entries name, indexed.

Why the origin is stored: it is the log's name in every signed checkpoint, and it used to
be derived from ``TONGXING_ISSUER`` each time a process started. A demo restarted on
another port, a CLI run without the server's issuer, or a move to another host name then
signed or checked checkpoints under another name, and a genuine log read as tampered. The
origin is now fixed once, in ``audit_head.origin``, and never derived again.

How existing installations get it (the migration cannot know the issuer: ``db upgrade``
may run with other settings than the service, and settings are not a migration's input):

* here, if the log has checkpoints, from the *first* checkpoint's origin line: that is the
  name the log was created under and the one auditors' earliest copies carry (checkpoints
  signed later under another name are still accepted by the verifier, as a warning, since
  the log key signed them);
* otherwise (no checkpoint yet, the column stays NULL) the first process that starts (the
  app, or a CLI command) fixes it from its current issuer, with an ``UPDATE ... WHERE
  origin IS NULL`` that only one process can win (``AuditLog.fix_origin``), and that
  process looks at the first checkpoint again in case an older process signed one since.

``audit_file_digests`` lets ``tongxing audit find --file`` look an entry up by the SHA-256
of a submitted or sealed document through an index instead of scanning every leaf; it is
derived data outside the Merkle tree (a finder re-checks the leaf). Entries logged before
this revision name no file digests, so there is nothing to fill in.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=255), nullable=True))
    op.create_table(
        "audit_file_digests",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("sha256", "entry_index", name=op.f("pk_audit_file_digests")),
    )
    connection = op.get_bind()
    first = connection.execute(
        sa.text("SELECT note FROM audit_checkpoints ORDER BY id LIMIT 1")
    ).scalar()
    if first:
        origin = str(first).split("\n", 1)[0].strip()
        if origin and len(origin) <= 255:
            connection.execute(
                sa.text("UPDATE audit_head SET origin = :origin WHERE id = 1 AND origin IS NULL"),
                {"origin": origin},
            )


def downgrade() -> None:
    op.drop_table("audit_file_digests")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("origin")
