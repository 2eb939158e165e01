"""The console's agent-authorisation screen acts through ``admin.agents``: an organisation
administrator offers and revokes their own organisation's authorisations; others only read
(or are refused); CSRF refused; both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests import oidc
from tests.admin import console
from tests.admin import world as w


@pytest.fixture
def world(client: TestClient) -> w.World:
    built = w.build(oidc.domain_of(client))
    oidc.add_rp(oidc.domain_of(client), "permits")
    return built


def test_an_organisation_administrator_offers_and_revokes(
    client: TestClient, world: w.World
) -> None:
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    url = f"/admin/organisations/{world.organisation_id}/agents"
    assert 'id="agents-link"' in org.get(f"/admin/organisations/{world.organisation_id}").text
    page = org.get(url)
    assert page.status_code == 200 and "经办人授权" in page.text
    form = console.hidden(page.text, url)
    today = datetime.now(UTC).date()
    data = {
        "person": w.NOBODY,
        "scope": "apps",
        "apps": "permits",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=10)).isoformat(),
    }
    assert org.post(url, data=data).status_code == 403  # no CSRF token
    made = org.post(url, data={**form, **data}, follow_redirects=False)
    assert made.status_code == 303, made.text
    page = org.get(url + "?lang=en")
    assert 'data-username="plain" data-status="offered"' in page.text
    assert "Listed apps: permits" in page.text
    unknown = org.post(url, data={**form, **data, "apps": "nobody-knows"})
    assert unknown.status_code == 422 and "nobody-knows" in unknown.text
    [authorisation_id] = re.findall(r'id="agent-([0-9a-f]{32})"', page.text)
    revoke = f"{url}/{authorisation_id}/revoke"
    revoked = org.post(revoke, data=console.hidden(page.text, revoke), follow_redirects=False)
    assert revoked.status_code == 303
    assert 'data-status="revoked"' in org.get(url).text
    # The auditor reads the list, without forms; a plain person is refused.
    auditor = console.sign_in(client, w.AUDIT)
    read = auditor.get(url).text
    assert 'data-status="revoked"' in read and 'id="offer-agent"' not in read
