"""A software WebAuthn authenticator for tests: a real P-256 key (``cryptography``), real
authenticator data, attestation objects ("none") and ECDSA signatures, so that py_webauthn's
verification in identity/passkeys.py runs for real. It answers the options the server sent,
as a browser would, and can be told to lie (another origin, an old sign count)."""

import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

ORIGIN = "http://testserver"  # the Django test client's host and scheme
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


class SoftAuthenticator:
    """One discoverable credential (a passkey) for one site."""

    def __init__(self, *, backed_up: bool = False):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.user_handle: bytes | None = None
        self.rp_id = ""
        self.backed_up = backed_up

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _flags(self, *, verified: bool) -> int:
        flags = UP | (UV if verified else 0)
        return flags | (BE | BS if self.backed_up else 0)

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict, *, origin: str = ORIGIN, verified: bool = True) -> dict:
        """The answer to ``navigator.credentials.create()`` (a PublicKeyCredential as JSON)."""
        self.rp_id = options["rp"]["id"]
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([self._flags(verified=verified) | AT])
            + struct.pack(">I", self.sign_count)
            + bytes(16)  # AAGUID: none
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_key()
        )
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict,
        *,
        origin: str = ORIGIN,
        verified: bool = True,
        sign_count: int | None = None,
    ) -> dict:
        """The answer to ``navigator.credentials.get()``: the counter goes up by one unless
        ``sign_count`` says what to claim (a clone's counter)."""
        if sign_count is None:
            self.sign_count += 1
            sign_count = self.sign_count
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (
            hashlib.sha256(options["rpId"].encode()).digest()
            + bytes([self._flags(verified=verified)])
            + struct.pack(">I", sign_count)
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(self.user_handle or b""),
            },
            "clientExtensionResults": {},
        }


def post_json(client: Client, url: str, body: dict | None = None, **extra):
    # As passkeys.js: the CSRF cookie as it is now (a sign-in rotates it).
    if "csrftoken" in client.cookies:
        extra.setdefault("HTTP_X_CSRFTOKEN", client.cookies["csrftoken"].value)
    return client.post(url, json.dumps(body or {}), content_type="application/json", **extra)


def csrf_client() -> Client:
    """A browser that checks CSRF (the sign-in API does) and has the token from the page."""
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    return client


def register(client: Client, authenticator: SoftAuthenticator, name: str = "Laptop", **kwargs):
    options = post_json(client, "/api/identity/passkeys/register/options/")
    assert options.status_code == 200, options.content
    credential = authenticator.create(options.json(), **kwargs)
    return post_json(
        client, "/api/identity/passkeys/register/", {"name": name, "credential": credential}
    )


def sign_in_answer(client: Client, authenticator: SoftAuthenticator, **kwargs) -> dict:
    options = post_json(client, "/api/identity/passkeys/sign-in/options/")
    assert options.status_code == 200, options.content
    return authenticator.get(options.json(), **kwargs)


def sign_in(
    client: Client,
    authenticator: SoftAuthenticator,
    next_url: str = "",
    remote_addr: str = "127.0.0.1",
    **kwargs,
):
    credential = sign_in_answer(client, authenticator, **kwargs)
    return post_json(
        client,
        "/api/identity/passkeys/sign-in/",
        {"credential": credential, "next": next_url},
        REMOTE_ADDR=remote_addr,
    )
