"""``tongxing maintenance purge`` in-process on both storage configurations: it deletes
sign-in history past its retention and anonymises accounts past their deletion grace
period, prints the counts, and leaves recent rows and the audit log alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp.models import SignInRecord, User
from idp.runtime import IdentityProvider
from tests import oidc
from tests.in_process import tongxing


def _env(client: TestClient, **extra: str) -> dict[str, str]:
    settings = runtime_of(client.app).get(IdentityProvider).settings  # type: ignore[arg-type]
    assert settings.key_encryption_key is not None
    return {
        "TONGXING_MODE": settings.mode.value,
        "TONGXING_DATA_DIR": str(settings.data_dir),
        "TONGXING_DATABASE_URL": settings.database_url,
        "TONGXING_REDIS_URL": settings.redis_url,
        "TONGXING_STORE_PREFIX": settings.store_prefix,
        "TONGXING_KEY_ENCRYPTION_KEY": settings.key_encryption_key.get_secret_value(),
        "TONGXING_ISSUER": settings.issuer,
        **extra,
    }


def test_purge_prints_counts_and_removes_only_what_is_due(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    leaving = oidc.add_person(domain, "leaving")
    staying = oidc.add_person(domain, "staying")
    oidc.add_rp(domain, first_party=True)
    oidc.sign_in(client, oidc.Request(), login="staying")
    other_browser = TestClient(client.app, base_url=str(client.base_url))
    oidc.sign_in(other_browser, oidc.Request(), login="staying")
    database = domain.keys.database
    now = datetime.now(UTC)
    with database.transaction() as session:
        records = session.scalars(select(SignInRecord).order_by(SignInRecord.at)).all()
        assert len(records) == 2
        first = records[0]
        first.at = now - timedelta(days=40)
        session.execute(
            update(User)
            .where(User.id == leaving)
            .values(disabled=True, deletion_requested_at=now - timedelta(days=16))
        )
    with database.reading() as session:
        events_before = session.scalar(select(func.count()).select_from(AuditEntry))
    purged = tongxing(
        "maintenance", "purge", env=_env(client, TONGXING_SIGN_IN_RETENTION_DAYS="30")
    )
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.splitlines() == [
        "sign-in records deleted: 1",
        "accounts anonymised: 1",
    ]
    with database.reading() as session:
        assert session.scalar(select(func.count()).select_from(SignInRecord)) == 1
        gone = session.get(User, leaving)
        kept = session.get(User, staying)
        assert gone is not None and gone.username.startswith("~deleted-")
        assert kept is not None and kept.username == "staying"
        # The audit log only grew: one account.deleted, nothing removed.
        deleted = session.scalars(
            select(AuditEntry).where(AuditEntry.type == "account.deleted")
        ).all()
        assert [e.subject for e in deleted] == [leaving]
        assert deleted[0].actor == "server:operator"
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == events_before + 1
    again = tongxing("maintenance", "purge", "--json", env=_env(client))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"sign_ins": 0, "accounts": 0}
