"""Levels of assurance: how well we know who a person is and how strongly they signed in.

Two separate things make a sign-in's ``acr`` (``urn:tongxing:loa:1`` … ``:4``):

- **Proofing** (实名核验), a property of the account: 1 self-declared, 2 name and identity
  number confirmed by an authority, 3 a real person (face check), 4 checked in person at a
  counter.
- **Sign-in strength**, a property of the session: what the methods used so far reach —
  one factor 2, two factors (of different kinds) 3, two factors one of which is a passkey
  under user verification 4. A passkey under user verification is two factors by itself
  (something held, unlocked by something known or something one is), so alone it reaches 3.

The ``acr`` is the lower of the two: a strong sign-in does not make an unverified name
trustworthy, and a verified name does not make a password strong. ``amr`` (RFC 8176) lists
the methods, with ``mfa`` once two kinds of factor were used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ACR_PREFIX = "urn:tongxing:loa:"
LEVELS = (1, 2, 3, 4)
ACR_VALUES = tuple(f"{ACR_PREFIX}{level}" for level in LEVELS)
UNREACHABLE = max(LEVELS) + 1
# The level an administrator's sign-in needs (a second factor): admin roles, org admins.
ADMIN_LEVEL = 3


@dataclass(frozen=True)
class Method:
    """One way of proving who one is, as the session records it."""

    amr: tuple[str, ...]  # RFC 8176 values it contributes
    kinds: frozenset[str]  # factor kinds: knowledge | possession | inherence


# The session's method names. "passkey-uv" is a passkey used with user verification (a PIN
# or biometric on the authenticator); "passkey" without. "recovery" is a single-use
# recovery code: a one-time secret the person holds. "fed" is a federated sign-in.
METHODS: dict[str, Method] = {
    "pwd": Method(("pwd",), frozenset({"knowledge"})),
    "totp": Method(("otp",), frozenset({"possession"})),
    "recovery": Method(("otp",), frozenset({"possession"})),
    "sms": Method(("sms",), frozenset({"possession"})),
    "passkey": Method(("hwk",), frozenset({"possession"})),
    "passkey-uv": Method(("hwk", "user"), frozenset({"possession", "knowledge"})),
    "face": Method(("face",), frozenset({"inherence"})),
}
# A sign-in at an upstream provider (idp.federation) is recorded as ``fed:<level>``: the level
# the upstream's ``acr`` maps to, a floor for the session's strength (one factor of its own
# kind from level 2, so a factor of ours added later makes two kinds), and ``fed`` in amr.
# The upstream's own ``amr`` values pass on as ``fed-amr:<value>`` (amr only, no strength).
FEDERATED = "fed:"
FEDERATED_AMR = "fed-amr:"
for _level in LEVELS:
    METHODS[f"{FEDERATED}{_level}"] = Method(
        ("fed",), frozenset({"federated"}) if _level >= 2 else frozenset()
    )
# RFC 8176 §2 values an upstream's amr may pass on.
RFC8176_AMR = frozenset(
    {
        "face",
        "fpt",
        "geo",
        "hwk",
        "iris",
        "kba",
        "mca",
        "mfa",
        "otp",
        "pin",
        "pop",
        "pwd",
        "rba",
        "retina",
        "sc",
        "sms",
        "swk",
        "tel",
        "user",
        "vbm",
        "wia",
    }
)


def acr(level: int) -> str:
    """The ``acr`` value of ``level``."""
    return f"{ACR_PREFIX}{level}"


def level_of(value: str) -> int | None:
    """The level an ``acr`` value names, or None for a value we do not know."""
    if not value.startswith(ACR_PREFIX):
        return None
    tail = value.removeprefix(ACR_PREFIX)
    return int(tail) if tail in {str(level) for level in LEVELS} else None


def strength(methods: Iterable[str]) -> int:
    """The level the sign-in methods reach (1 when none counts)."""
    used = [m for m in dict.fromkeys(methods) if m in METHODS]
    return max(_strength_of_kinds(used), *(_federated_level(m) for m in used), 1)


def _strength_of_kinds(used: list[str]) -> int:
    kinds = frozenset().union(*(METHODS[m].kinds for m in used)) if used else frozenset()
    if not kinds:
        return 1
    if len(kinds) == 1:
        return 2
    # Only methods with a factor kind count as one of the "two methods" (a ``fed:1`` has none).
    if "passkey-uv" in used and sum(1 for m in used if METHODS[m].kinds) >= 2:
        return 4
    return 3


def _federated_level(method: str) -> int:
    return int(method.removeprefix(FEDERATED)) if method.startswith(FEDERATED) else 1


def level(*, proofing_level: int, methods: Iterable[str]) -> int:
    """The sign-in's level of assurance: the lower of proofing and strength."""
    return min(proofing_level, strength(methods))


def amr(methods: Iterable[str]) -> list[str]:
    """RFC 8176 ``amr`` values of the methods, with ``mfa`` for two kinds of factor."""
    methods = list(methods)
    used = [m for m in dict.fromkeys(methods) if m in METHODS]
    passed_on = [
        m.removeprefix(FEDERATED_AMR)
        for m in methods
        if m.startswith(FEDERATED_AMR) and m.removeprefix(FEDERATED_AMR) in RFC8176_AMR
    ]
    values = list(dict.fromkeys([*(v for m in used for v in METHODS[m].amr), *passed_on]))
    if "mfa" in values:
        values.remove("mfa")  # placed last, and only once
        values.append("mfa")
        return values
    kinds = frozenset().union(*(METHODS[m].kinds for m in used)) if used else frozenset()
    if len(kinds) >= 2:
        values.append("mfa")
    return values


def helps(method: str, *, have: Iterable[str], target: int) -> bool:
    """Whether adding ``method`` to the session's methods ``have`` brings it closer to (or
    up to) the sign-in strength ``target``: it must raise the strength, or be the missing
    half of a level-4 pair."""
    have = list(have)
    if method in have:
        return False
    before, after = strength(have), strength([*have, method])
    if after > before:
        return True
    # Level 4 needs a passkey under user verification and another method; a session at 3
    # from a password and a code gains nothing from a second code, only from a passkey.
    return target >= 4 and method == "passkey-uv"


@dataclass(frozen=True)
class Requirement:
    """The level an authorization request needs, and whether the app insisted on it."""

    level: int
    essential: bool  # claims parameter with essential acr, or the client's minimum


class ClaimsError(ValueError):
    """The ``claims`` parameter is not valid JSON of the shape OIDC Core §5.5 defines."""


def requirement(
    *, acr_values: Iterable[str], claims: str | None, client_min_level: int | None
) -> Requirement:
    """The level a request needs: the lowest level it names in ``acr_values`` (any of them
    satisfies it), the lowest of an essential ``acr`` in the ``claims`` parameter (OIDC Core
    §5.5.1.1), and the client's registered minimum; the highest of these wins.

    Tongxing treats ``acr_values`` as a minimum, like an essential claim: an app that asks
    for a level gets it or an ``unmet_authentication_requirements`` error, never less.
    Values we do not know are ignored (§3.1.2.1: the request is voluntary for them).
    """
    needed, essential = 1, False
    asked = [lv for lv in (level_of(v) for v in acr_values) if lv is not None]
    if asked:
        needed = max(needed, min(asked))
        essential = True
    for member in _essential_acr(claims):
        if member:
            needed = max(needed, min(member))
            essential = True
    if client_min_level:
        needed = max(needed, client_min_level)
        essential = True
    return Requirement(level=needed, essential=essential)


def _essential_acr(claims: str | None) -> list[list[int]]:
    if not claims:
        return []
    try:
        parsed = json.loads(claims)
    except ValueError:
        raise ClaimsError("the claims parameter is not JSON") from None
    if not isinstance(parsed, Mapping):
        raise ClaimsError("the claims parameter must be a JSON object")
    found: list[list[int]] = []
    for where in ("id_token", "userinfo"):
        section = parsed.get(where)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise ClaimsError(f"claims.{where} must be an object")
        request = section.get("acr")
        if request is None:
            continue
        if not isinstance(request, Mapping):
            raise ClaimsError(f"claims.{where}.acr must be an object or null")
        if not request.get("essential"):
            continue
        values = request.get("values")
        if values is None and "value" in request:
            values = [request["value"]]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ClaimsError(f"claims.{where}.acr needs value or values")
        known = [lv for lv in (level_of(v) for v in values) if lv is not None]
        # Only levels we do not offer, insisted on: no sign-in can meet it.
        found.append(known or [UNREACHABLE])
    return found
