"""A software WebAuthn authenticator for HTTP-level tests: an EC P-256 key per credential,
``none`` attestation, assertions signed over authenticatorData || SHA-256(clientDataJSON),
as a browser and a platform authenticator would produce them (WebAuthn Level 2 §6, §7)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes.fromhex("00112233445566778899aabbccddeeff")


def b64url(raw: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Bytes of base64url text (padding optional)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One discoverable credential the authenticator holds."""

    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Creates credentials and assertions for an origin (``origin`` may be overridden per
    call to play a phishing page)."""

    origin: str
    user_verifying: bool = True
    backup_eligible: bool = True
    credentials: list[Credential] = field(default_factory=list)

    def _auth_data(self, rp_id: str, flags: int, count: int, attested: bytes = b"") -> bytes:
        if self.backup_eligible:
            flags |= BE | BS
        return (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", count)
            + attested
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """navigator.credentials.create(): a new credential for ``options`` (the server's
        PublicKeyCredentialCreationOptions JSON)."""
        rp_id = options["rp"]["id"]
        excluded = {d["id"] for d in options.get("excludeCredentials", [])}
        assert not any(
            b64url(c.credential_id) in excluded for c in self.credentials if c.rp_id == rp_id
        ), "InvalidStateError: already registered"
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        credential_id = os.urandom(16)
        attested = AAGUID + struct.pack(">H", len(credential_id)) + credential_id + cose
        flags = UP | AT | (UV if self.user_verifying else 0)
        auth_data = self._auth_data(rp_id, flags, 0, attested)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials.append(
            Credential(credential_id, key, rp_id, unb64url(options["user"]["id"]))
        )
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        credential: Credential | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.get(): an assertion by the (first allowed) credential; the
        counter goes up by one unless ``count`` says what to send."""
        rp_id = options["rpId"]
        allowed = {d["id"] for d in options.get("allowCredentials", [])}
        chosen = credential or next(
            c
            for c in self.credentials
            if c.rp_id == rp_id and (not allowed or b64url(c.credential_id) in allowed)
        )
        chosen.sign_count = chosen.sign_count + 1 if count is None else count
        flags = UP | (UV if self.user_verifying else 0)
        auth_data = self._auth_data(rp_id, flags, chosen.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = chosen.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(chosen.credential_id),
            "rawId": b64url(chosen.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(chosen.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
