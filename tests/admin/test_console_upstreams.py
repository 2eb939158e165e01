"""The console's upstream screen acts through ``admin.upstreams``: the platform roles see the
upstreams (never a secret), only the system administrator disables and re-enables one."""

from __future__ import annotations

from fastapi.testclient import TestClient

from admin import upstreams
from tests import oidc
from tests.admin import console
from tests.admin import world as w

SECRET = "province-secret-never-shown-0123"


def test_the_system_administrator_disables_an_upstream_on_the_console(
    client: TestClient,
) -> None:
    world = w.build(oidc.domain_of(client))
    upstreams.create(
        world.admin,
        world.actor(w.SYSTEM),
        upstream_id="province",
        name_zh="省统一身份认证平台",
        name_en="the Provincial Identity Platform",
        discovery_url="https://idp.province.example/.well-known/openid-configuration",
        client_id="tongxing",
        client_secret=SECRET,
        scopes=["openid"],
        claim_map={"name": "name"},
        acr_map={},
    )
    security = console.sign_in(client, w.SECURITY)
    seen = security.get("/admin/upstreams")
    assert seen.status_code == 200 and 'data-upstream="province"' in seen.text
    assert "省统一身份认证平台" in seen.text and SECRET not in seen.text
    assert 'id="toggle-province"' not in seen.text  # reads only
    system = console.sign_in(client, w.SYSTEM)
    page = system.get("/admin/upstreams?lang=en")
    assert "the Provincial Identity Platform" in page.text
    form = console.hidden(page.text, "/admin/upstreams/province/disabled")
    assert (
        system.post("/admin/upstreams/province/disabled", data={"disabled": "true"}).status_code
        == 403
    )
    done = system.post(
        "/admin/upstreams/province/disabled",
        data={**form, "disabled": "true"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert upstreams.get(world.admin, world.actor(w.SYSTEM), upstream_id="province")["disabled"]


def test_the_system_administrator_registers_an_upstream_on_the_console(
    client: TestClient,
) -> None:
    world = w.build(oidc.domain_of(client))
    system = console.sign_in(client, w.SYSTEM)
    page = system.get("/admin/upstreams")
    assert 'id="register-upstream"' in page.text
    form = console.hidden(page.text, "/admin/upstreams")
    data = {
        "upstream_id": "province",
        "name_zh": "省统一身份认证平台",
        "name_en": "the Provincial Identity Platform",
        "discovery_url": "https://idp.province.example/.well-known/openid-configuration",
        "client_id": "tongxing",
        "client_secret": SECRET,
        "scopes": "openid profile idcard",
        "claim_map": "name=name\nnational_id=id_number\n",
        "acr_map": "urn:province:loa:2=2\nurn:province:loa:3=3",
        "amr_map": "pwd=pwd",
        "trusted_proofing_level": "2",
    }
    bad = system.post("/admin/upstreams", data={**form, **data, "acr_map": "x=9"})
    assert bad.status_code in (400, 422) and SECRET not in bad.text
    made = system.post("/admin/upstreams", data={**form, **data}, follow_redirects=False)
    assert made.status_code == 303
    view = upstreams.get(world.admin, world.actor(w.SYSTEM), upstream_id="province")
    assert view["acr_map"] == {"urn:province:loa:2": 2, "urn:province:loa:3": 3}
    assert view["claim_map"] == {"name": "name", "national_id": "id_number"}
    assert view["trusted_proofing_level"] == 2
    assert SECRET not in system.get("/admin/upstreams").text
    security = console.sign_in(client, w.SECURITY)
    assert 'id="register-upstream"' not in security.get("/admin/upstreams").text
