"""The framework-free CAS 3.0 module: parameters, tickets, validation responses and the
single-logout request — hostile values stay text, and every document parses."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from idp.protocol import cas

NS = "{http://www.yale.edu/tp/cas}"
SAMLP = "{urn:oasis:names:tc:SAML:2.0:protocol}"
SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"


def _params(**values: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


def test_login_parameters() -> None:
    plain = cas.login_request(_params(service="https://app.example/"))
    assert plain == cas.LoginRequest(service="https://app.example/", renew=False, gateway=False)
    assert cas.login_request(_params(service="s", renew="true")).renew
    assert cas.login_request(_params(service="s", gateway="true")).gateway
    assert not cas.login_request(_params(service="s", renew="false")).renew
    assert not cas.login_request(_params(service="s", renew="")).renew
    both = cas.login_request(_params(service="s", renew="true", gateway="true"))
    assert both.renew and not both.gateway  # never a silent single sign-on
    assert cas.login_request({}).service is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (_params(service=["a", "b"]), "more than once"),
        (_params(service="x" * 2049), "too long"),
        (_params(service="s", renew=["true", "true"]), "more than once"),
    ],
)
def test_login_refuses_repeated_and_oversized_parameters(
    params: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(cas.CasError, match=message) as caught:
        cas.login_request(params)
    assert caught.value.code == cas.INVALID_REQUEST


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (_params(service="s"), cas.INVALID_REQUEST),
        (_params(ticket="ST-1"), cas.INVALID_REQUEST),
        (_params(service="s", ticket=["ST-1", "ST-2"]), cas.INVALID_REQUEST),
        (_params(service="s", ticket="PT-1-abc"), cas.INVALID_TICKET_SPEC),
        (_params(service="s", ticket="TGT-1"), cas.INVALID_TICKET_SPEC),
        (_params(service="s", ticket="ST-<script>"), cas.INVALID_TICKET),
        (_params(service="s", ticket="ST-" + "a" * 300), cas.INVALID_REQUEST),
    ],
)
def test_validation_parameters_refused_with_the_specs_codes(
    params: dict[str, list[str]], code: str
) -> None:
    with pytest.raises(cas.CasError) as caught:
        cas.validation_request(params)
    assert caught.value.code == code


def test_validation_parameters() -> None:
    request = cas.validation_request(
        _params(service="https://a/", ticket="ST-abc", renew="true", pgtUrl="https://a/pgt")
    )
    assert request == cas.ValidationRequest(
        service="https://a/", ticket="ST-abc", renew=True, pgt_url="https://a/pgt"
    )


def test_tickets_are_random_and_within_the_specs_alphabet() -> None:
    tickets = {cas.new_ticket() for _ in range(200)}
    assert len(tickets) == 200
    for ticket in tickets:
        assert re.fullmatch(r"ST-[A-Za-z0-9]{32}", ticket)  # §3.1.1, 128 bits


HOSTILE = [
    "</cas:user><cas:user>admin",
    "]]><x/>",
    "&amp;&lt;&#0;",
    "\"'<>&",
    "bell\x07 null\x00 esc\x1b",
    "lone surrogate \ud800 here",
    "张三\u2028\ufeff",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_text(value: str) -> None:
    document = cas.success(user=value, attributes={"displayName": value, "amr": [value, "pwd"]})
    root = ET.fromstring(document)
    ok = root.find(f"{NS}authenticationSuccess")
    assert ok is not None
    expected = cas.xml_text(value)
    assert ok.findtext(f"{NS}user") == expected
    held = ok.find(f"{NS}attributes")
    assert held is not None
    assert [e.tag for e in held] == [f"{NS}displayName", f"{NS}amr", f"{NS}amr"]
    assert held.findtext(f"{NS}displayName") == expected
    assert [e.text for e in held.findall(f"{NS}amr")] == [expected, "pwd"]
    # Only characters XML 1.0 cannot carry are dropped; markup is escaped, never lost.
    assert expected == re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]", "", value)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_text_in_json(value: str) -> None:
    document = cas.success(
        user=value, attributes={"displayName": value, "amr": [value, "pwd"]}, fmt=cas.JSON
    )
    ok = json.loads(document)["serviceResponse"]["authenticationSuccess"]
    expected = cas.xml_text(value)  # the same text as in XML, in either format
    assert ok == {
        "user": expected,
        "attributes": {"displayName": expected, "amr": [expected, "pwd"]},
    }


def test_the_format_parameter() -> None:
    assert cas.response_format({}) == cas.XML
    assert cas.response_format(_params(format="")) == cas.XML
    for asked, fmt in (("XML", cas.XML), ("JSON", cas.JSON), ("json", cas.JSON)):
        assert cas.response_format(_params(format=asked)) == fmt
    for refused in (_params(format="YAML"), _params(format=["JSON", "XML"])):
        with pytest.raises(cas.CasError) as caught:
            cas.response_format(refused)
        assert caught.value.code == cas.INVALID_REQUEST


def test_json_answers_have_the_specs_shape() -> None:
    """§2.5.2 and §2.5.7: one value is a string, a list stays a list (even of one)."""
    ok = json.loads(
        cas.success(user="zhangsan", attributes={"name": "张三", "amr": ["pwd"]}, fmt=cas.JSON)
    )
    assert ok == {
        "serviceResponse": {
            "authenticationSuccess": {
                "user": "zhangsan",
                "attributes": {"name": "张三", "amr": ["pwd"]},
            }
        }
    }
    v2 = json.loads(cas.success(user="zhangsan", fmt=cas.JSON))
    assert v2 == {"serviceResponse": {"authenticationSuccess": {"user": "zhangsan"}}}
    failed = json.loads(cas.failure(cas.INVALID_TICKET, "ticket ST-1 not recognized", fmt=cas.JSON))
    assert failed == {
        "serviceResponse": {
            "authenticationFailure": {
                "code": "INVALID_TICKET",
                "description": "ticket ST-1 not recognized",
            }
        }
    }


def test_attribute_names_are_ours_never_input() -> None:
    with pytest.raises(ValueError, match="not an attribute name"):
        cas.success(user="u", attributes={"a><b": "x"})


def test_v2_success_has_no_attributes_and_failure_carries_the_code() -> None:
    root = ET.fromstring(cas.success(user="zhangsan"))
    assert root.tag == f"{NS}serviceResponse"
    assert root.find(f"{NS}authenticationSuccess/{NS}attributes") is None
    failed = ET.fromstring(cas.failure(cas.INVALID_TICKET, "ticket <ST-1> not recognized"))
    element = failed.find(f"{NS}authenticationFailure")
    assert element is not None
    assert element.get("code") == "INVALID_TICKET"
    assert element.text == "ticket <ST-1> not recognized"
    with pytest.raises(AssertionError):
        cas.failure("MADE_UP", "x")


def test_logout_request_names_the_ticket_as_session_index() -> None:
    text = cas.logout_request(session_index="ST-0123", now=1_700_000_000)
    root = ET.fromstring(text)
    assert root.tag == f"{SAMLP}LogoutRequest"
    assert root.get("Version") == "2.0"
    assert root.get("IssueInstant") == "2023-11-14T22:13:20Z"
    assert re.fullmatch(r"LR-[0-9a-f]{32}", root.get("ID") or "")
    assert root.findtext(f"{SAML}NameID") == "@NOT_USED@"
    assert root.findtext(f"{SAMLP}SessionIndex") == "ST-0123"
    assert text.startswith("<samlp:LogoutRequest ")  # the prefixes CAS clients look for
