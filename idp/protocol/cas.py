"""The CAS protocol 3.0 (Apereo CAS Protocol Specification 3.0.3): request parameters,
service tickets, validation responses in XML or JSON (§2.5, §2.8) and the single-logout
request (§2.3.3, Appendix C).

Framework-free. Security contract: :func:`login_request` and :func:`validation_request`
refuse a repeated parameter and over-long values (the caller still matches the service
URL exactly against the registry: nothing here trusts it); tickets are ``ST-`` followed by
128 random bits in ``[a-zA-Z0-9]`` (§3.1.1: at least 32 characters accepted by services, only
``[a-zA-Z0-9-]``); every response is built with an XML or JSON serialiser, so a hostile
attribute value (markup, entities, ``]]>``, quotes) stays text, and characters XML 1.0 cannot
carry (control characters, lone surrogates) are dropped from both formats rather than
producing a document no client can parse. Not here: which tickets exist, who is signed in,
which services are registered.
"""

from __future__ import annotations

import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

NAMESPACE = "http://www.yale.edu/tp/cas"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
TICKET_PREFIX = "ST-"
MAX_SERVICE = 2048
MAX_TICKET = 256
# §2.2.1/§2.5.3 error codes.
INVALID_REQUEST = "INVALID_REQUEST"
INVALID_TICKET_SPEC = "INVALID_TICKET_SPEC"
UNAUTHORIZED_SERVICE_PROXY = "UNAUTHORIZED_SERVICE_PROXY"
INVALID_PROXY_CALLBACK = "INVALID_PROXY_CALLBACK"
INVALID_TICKET = "INVALID_TICKET"
INVALID_SERVICE = "INVALID_SERVICE"
INTERNAL_ERROR = "INTERNAL_ERROR"
CODES = (
    INVALID_REQUEST,
    INVALID_TICKET_SPEC,
    UNAUTHORIZED_SERVICE_PROXY,
    INVALID_PROXY_CALLBACK,
    INVALID_TICKET,
    INVALID_SERVICE,
    INTERNAL_ERROR,
)
_TICKET = re.compile(r"^ST-[A-Za-z0-9-]{1,253}$")
# Characters XML 1.0 allows (§2.2 Char), everything else is dropped from text we emit.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")

# §2.5.1 ``format``: the validation answer's format, XML unless asked otherwise.
XML = "XML"
JSON = "JSON"
MEDIA_TYPES = {XML: "application/xml; charset=utf-8", JSON: "application/json"}

ET.register_namespace("cas", NAMESPACE)
ET.register_namespace("samlp", SAMLP)
ET.register_namespace("saml", SAML)


class CasError(Exception):
    """A validation failure with its §2.5.3 code; the message goes into the response."""

    def __init__(self, code: str, message: str) -> None:
        assert code in CODES
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LoginRequest:
    """``/login`` as a credential requestor (§2.1.1)."""

    service: str | None
    renew: bool
    gateway: bool


@dataclass(frozen=True)
class ValidationRequest:
    """``/serviceValidate`` and ``/p3/serviceValidate`` (§2.5.1, §2.8)."""

    service: str
    ticket: str
    renew: bool
    pgt_url: str | None


def _single(params: Mapping[str, Sequence[str]], name: str, *, limit: int) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise CasError(INVALID_REQUEST, f"the parameter {name} appears more than once")
    if not values or values[0] == "":
        return None
    if len(values[0]) > limit:
        raise CasError(INVALID_REQUEST, f"the parameter {name} is too long")
    return values[0]


def _flag(params: Mapping[str, Sequence[str]], name: str) -> bool:
    """§2.1.1: a flag counts as set when it is present with a value (``renew=true``); an
    explicit ``false`` is read as not set, as CAS clients send it."""
    value = _single(params, name, limit=16)
    return value is not None and value.lower() not in ("false", "0")


def login_request(params: Mapping[str, Sequence[str]]) -> LoginRequest:
    """The parameters of ``/login`` (``service``, ``renew``, ``gateway``); §2.1.1 leaves
    ``renew`` with ``gateway`` undefined: here ``renew`` wins (never a silent SSO)."""
    renew = _flag(params, "renew")
    return LoginRequest(
        service=_single(params, "service", limit=MAX_SERVICE),
        renew=renew,
        gateway=_flag(params, "gateway") and not renew,
    )


def validation_request(params: Mapping[str, Sequence[str]]) -> ValidationRequest:
    """The parameters of a validation; :class:`CasError` ``INVALID_REQUEST`` when
    ``service`` or ``ticket`` is missing (§2.5.3), ``INVALID_TICKET_SPEC`` for a ticket that
    is not a service ticket (§2.5.3: a proxy ticket at ``serviceValidate``)."""
    service = _single(params, "service", limit=MAX_SERVICE)
    ticket = _single(params, "ticket", limit=MAX_TICKET)
    if service is None or ticket is None:
        raise CasError(INVALID_REQUEST, "both service and ticket are required")
    if not ticket.startswith(TICKET_PREFIX):
        raise CasError(INVALID_TICKET_SPEC, "only service tickets (ST-) are validated here")
    if not _TICKET.match(ticket):
        raise CasError(INVALID_TICKET, f"ticket {ticket} not recognized")
    return ValidationRequest(
        service=service,
        ticket=ticket,
        renew=_flag(params, "renew"),
        pgt_url=_single(params, "pgtUrl", limit=MAX_SERVICE),
    )


def response_format(params: Mapping[str, Sequence[str]]) -> str:
    """§2.5.1 ``format``: :data:`XML` (the default) or :data:`JSON`, in any letter case as
    the reference server reads it; any other value is ``INVALID_REQUEST`` (the caller then
    answers in XML)."""
    value = _single(params, "format", limit=16)
    if value is None:
        return XML
    if value.upper() not in MEDIA_TYPES:
        raise CasError(INVALID_REQUEST, f"format {value} is not supported: use XML or JSON")
    return value.upper()


def new_ticket() -> str:
    """A fresh service ticket: ``ST-`` and 128 random bits as 32 hex digits."""
    return TICKET_PREFIX + secrets.token_hex(16)


def xml_text(value: object) -> str:
    """``value`` as text XML 1.0 can carry (characters it cannot are dropped)."""
    return _NOT_XML.sub("", str(value))


def instant(when: int | float) -> str:
    """A UNIX time as the ISO 8601 UTC instant CAS attributes use."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _el(parent: ET.Element, name: str, *, text: object | None = None) -> ET.Element:
    child = ET.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    if text is not None:
        child.text = xml_text(text)
    return child


def _document(root: ET.Element) -> bytes:
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))


def _json(answer: dict[str, object]) -> bytes:
    return json.dumps({"serviceResponse": answer}, ensure_ascii=False).encode()


def success(
    *,
    user: str,
    attributes: Mapping[str, str | Iterable[str]] | None = None,
    fmt: str = XML,
) -> bytes:
    """``<cas:authenticationSuccess>`` (§2.5.2), or its JSON form; with ``attributes`` (CAS
    3.0, §2.5.7 and Appendix A), one ``<cas:name>`` per value (a list repeats the element;
    in JSON a list stays a list, one value is a string, as §2.5.7 shows). Attribute names
    must be XML names we chose, never input."""
    listed: dict[str, list[str]] = {}
    for name, value in (attributes or {}).items():
        if not _ATTRIBUTE_NAME.match(name):
            raise ValueError(f"{name!r} is not an attribute name")
        listed[name] = [value] if isinstance(value, str) else list(value)
    if fmt == JSON:
        ok: dict[str, object] = {"user": xml_text(user)}
        if attributes is not None:
            ok["attributes"] = {
                name: xml_text(values[0])
                if isinstance(attributes[name], str)
                else [xml_text(one) for one in values]
                for name, values in listed.items()
            }
        return _json({"authenticationSuccess": ok})
    root = ET.Element(f"{{{NAMESPACE}}}serviceResponse")
    element = _el(root, "authenticationSuccess")
    _el(element, "user", text=user)
    if attributes is not None:
        holder = _el(element, "attributes")
        for name, values in listed.items():
            for one in values:
                _el(holder, name, text=one)
    return _document(root)


def failure(code: str, message: str, *, fmt: str = XML) -> bytes:
    """``<cas:authenticationFailure code="...">`` (§2.5.3), or its JSON form (``code`` and
    ``description``)."""
    assert code in CODES
    if fmt == JSON:
        return _json({"authenticationFailure": {"code": code, "description": xml_text(message)}})
    root = ET.Element(f"{{{NAMESPACE}}}serviceResponse")
    failed = _el(root, "authenticationFailure", text=message)
    failed.set("code", code)
    return _document(root)


def logout_request(*, session_index: str, now: int | float) -> str:
    """The SAML ``LogoutRequest`` posted to a service (§2.3.3, Appendix C): its
    ``SessionIndex`` is the service ticket the service validated."""
    root = ET.Element(
        f"{{{SAMLP}}}LogoutRequest",
        {
            "ID": "LR-" + secrets.token_hex(16),
            "Version": "2.0",
            "IssueInstant": instant(now),
        },
    )
    name = ET.SubElement(root, f"{{{SAML}}}NameID")
    name.text = "@NOT_USED@"
    index = ET.SubElement(root, f"{{{SAMLP}}}SessionIndex")
    index.text = xml_text(session_index)
    return ET.tostring(root, encoding="unicode")
