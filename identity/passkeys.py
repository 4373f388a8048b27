"""Passkeys (WebAuthn, with py_webauthn): a person registers them for their own account and
signs in with one as the first factor, instead of the password.

- Discoverable credentials and user verification required: the person types no username, and
  the authenticator itself checked a PIN or a biometric before it signed.
- The relying party id and the origins come from ``WEBAUTHN_RP_ID`` / ``WEBAUTHN_ORIGINS``;
  outside production, when they are empty, from the request's own host and scheme.
- A challenge is answered once: it waits in the cache for ``WEBAUTHN_CHALLENGE_SECONDS`` and
  the first answer takes it away (``cache.delete`` tells which answer was first).
- A sign-in counts per address and, once the credential names the person, on the same
  per-account limit as wrong passwords (accounts.services); a person who may not authenticate
  (offboarded, deactivated, outside their window) or whose account is locked is refused.
- A sign count that did not grow means a cloned authenticator: refused and audited.
- Adding a passkey needs a password proved in this session within
  ``FACEAUTH_PASSKEY_REAUTH_SECONDS``: a passkey alone does not mint more passkeys.

Audit: ``passkey.register``, ``passkey.remove``, ``auth.passkey`` (never a key or a challenge).
"""

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    generate_challenge,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts import audit, sessions
from accounts import services as accounts_services
from accounts.errors import DomainError
from accounts.limits import Attempt, Limited
from accounts.models import User

from .models import Passkey, Subject

MAX_PASSKEYS = 10  # per person: a phone, a laptop, a security key and spares
REGISTER, SIGN_IN = "register", "sign-in"


class PasskeyRefused(DomainError):
    # One answer for an unknown credential, a bad signature and a person who may not sign in:
    # it tells a prober nothing about accounts.
    status_code = 403
    code = "passkey_refused"
    message = _("This passkey was not accepted. Sign in with your password instead.")


class PasskeyInvalid(DomainError):
    code = "passkey_invalid"
    message = _("The browser sent an unreadable passkey answer. Please try again.")


class ChallengeUnknown(DomainError):
    code = "challenge_unknown"
    message = _("This passkey request has expired or was already used. Please try again.")


class PasswordRequired(DomainError):
    status_code = 403
    code = "password_required"
    message = _("Confirm your password first, then add the passkey.")


class TooManyPasskeys(DomainError):
    code = "too_many_passkeys"
    message = _("You have the most passkeys allowed. Remove one before adding another.")


class PasskeyExists(DomainError):
    status_code = 409
    code = "passkey_exists"
    message = _("This passkey is registered already.")


class SignInLimited(DomainError):
    status_code = 429
    code = "too_many_attempts"
    message = _("Too many sign-in attempts. Please wait a few minutes and try again.")

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


# ----------------------------------------------------------------- relying party, challenges


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origins: list[str]
    name: str


def relying_party(request: HttpRequest) -> RelyingParty:
    host = request.get_host()  # checked against ALLOWED_HOSTS
    return RelyingParty(
        id=settings.WEBAUTHN_RP_ID or split_domain_port(host)[0],
        origins=list(settings.WEBAUTHN_ORIGINS) or [f"{request.scheme}://{host}"],
        name=settings.WEBAUTHN_RP_NAME,
    )


def user_handle(person: User) -> bytes:
    """WebAuthn's user id: the person's random ``sub`` (16 bytes, no personal data), the same
    for all their passkeys, as the specification asks."""
    subject, _ = Subject.objects.get_or_create(person=person)
    return uuid.UUID(str(subject.sub)).bytes


def _challenge_key(challenge: bytes) -> str:
    return "passkey-challenge:" + hashlib.sha256(challenge).hexdigest()


def _issue_challenge(purpose: str, person: User | None = None) -> bytes:
    challenge = generate_challenge()
    cache.set(
        _challenge_key(challenge),
        {"purpose": purpose, "person": person.pk if person else None},
        timeout=settings.WEBAUTHN_CHALLENGE_SECONDS,
    )
    return challenge


def _take_challenge(client_data_json: bytes, *, purpose: str, person: User | None = None) -> bytes:
    """The challenge this answer signed, if it is open, for this purpose and person; it is
    closed at once, whatever the verification says next."""
    challenge = parse_client_data_json(client_data_json).challenge
    key = _challenge_key(challenge)
    held = cache.get(key)
    # Only the request whose delete removed it may use it (a replay racing the first loses).
    if held is None or not cache.delete(key):
        raise ChallengeUnknown()
    if held != {"purpose": purpose, "person": person.pk if person else None}:
        raise ChallengeUnknown()
    return challenge


def _options(options) -> dict[str, Any]:
    return json.loads(options_to_json(options))


def _timeout_ms() -> int:
    return settings.WEBAUTHN_CHALLENGE_SECONDS * 1000


def _transports(names: list[str]) -> list[AuthenticatorTransport]:
    known = {t.value for t in AuthenticatorTransport}
    return [AuthenticatorTransport(n) for n in names if n in known]


# ----------------------------------------------------------------- registration


def password_is_fresh(request: HttpRequest) -> bool:
    proved = sessions.factors(request).get(sessions.PASSWORD)
    return proved is not None and time.time() - proved <= settings.FACEAUTH_PASSKEY_REAUTH_SECONDS


def registration_options(request: HttpRequest, *, person: User) -> dict[str, Any]:
    """``navigator.credentials.create()`` options for a new passkey of the signed-in person."""
    if not password_is_fresh(request):
        raise PasswordRequired()
    existing = list(person.passkeys.all())
    if len(existing) >= MAX_PASSKEYS:
        raise TooManyPasskeys()
    rp = relying_party(request)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle(person),
        user_name=person.username,
        user_display_name=str(person),
        challenge=_issue_challenge(REGISTER, person),
        timeout=_timeout_ms(),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(p.credential_id), transports=_transports(p.transports)
            )
            for p in existing
        ],
    )
    return _options(options)


def register(
    request: HttpRequest, *, person: User, name: str, credential: dict[str, Any]
) -> Passkey:
    """Verify the authenticator's answer (attestation "none": FaceAuth trusts the key, not a
    vendor) and keep the passkey."""
    if not password_is_fresh(request):
        raise PasswordRequired()
    if person.passkeys.count() >= MAX_PASSKEYS:
        raise TooManyPasskeys()
    rp = relying_party(request)
    try:
        parsed = parse_registration_credential_json(credential)
        expected = _take_challenge(
            parsed.response.client_data_json, purpose=REGISTER, person=person
        )
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=expected,
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            require_user_verification=True,
        )
    except ChallengeUnknown:
        _audit_registration(request, person, "refused", reason="challenge_unknown")
        raise
    except (WebAuthnException, ValueError, TypeError) as exc:
        _audit_registration(request, person, "refused", reason="invalid", detail=str(exc))
        raise PasskeyInvalid() from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    transports = [t.value for t in (parsed.response.transports or [])]
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                person=person,
                name=name,
                credential_id=credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=transports,
                backed_up=verified.credential_backed_up,
            )
    except IntegrityError as exc:
        _audit_registration(request, person, "refused", reason="exists")
        raise PasskeyExists() from exc
    _audit_registration(
        request,
        person,
        "done",
        passkey=passkey.pk,
        name=name,
        transports=transports,
        backed_up=passkey.backed_up,
        aaguid=verified.aaguid,
    )
    return passkey


def _audit_registration(request, person: User, outcome: str, **details) -> None:
    if "detail" in details:
        details["detail"] = details["detail"][:200]
    audit.record(
        "passkey.register",
        request=request,
        actor=person,
        outcome=outcome,
        target=person,
        details=details,
    )


def remove(*, passkey: Passkey, actor: User | None, reason: str) -> None:
    """``reason``: "self" (its owner), "admin", "offboarded"."""
    person = passkey.person
    audit.record(
        "passkey.remove",
        actor=actor,
        outcome="done",
        target=person,
        details={"passkey": passkey.pk, "name": passkey.name, "reason": reason},
    )
    passkey.delete()


@transaction.atomic
def remove_all(*, person: User, actor: User | None, reason: str) -> int:
    passkeys = list(Passkey.objects.filter(person=person))
    for passkey in passkeys:
        remove(passkey=passkey, actor=actor, reason=reason)
    return len(passkeys)


# ----------------------------------------------------------------- sign-in


def sign_in_options(request: HttpRequest) -> dict[str, Any]:
    """``navigator.credentials.get()`` options: no allowed credentials (the authenticator
    offers the person's passkeys for this site), user verification required."""
    rp = relying_party(request)
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=_issue_challenge(SIGN_IN),
        timeout=_timeout_ms(),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return _options(options)


def sign_in(request: HttpRequest, *, credential: dict[str, Any]) -> User:
    """Verify a passkey's answer and sign its person in (the session's first factor ``pop``).
    Raises ``SignInLimited``, ``ChallengeUnknown``, ``PasskeyInvalid`` or ``PasskeyRefused``."""
    try:
        address = accounts_services.begin_address_sign_in(request)
    except Limited as exc:
        _audit_sign_in(request, "limited", None, reason="address")
        raise SignInLimited(exc.retry_after) from None
    try:
        parsed = parse_authentication_credential_json(credential)
        expected = _take_challenge(parsed.response.client_data_json, purpose=SIGN_IN)
    except ChallengeUnknown:
        address.failed()
        _audit_sign_in(request, "refused", None, reason="challenge_unknown")
        raise
    except (WebAuthnException, ValueError, TypeError) as exc:
        address.failed()
        _audit_sign_in(request, "refused", None, reason="invalid")
        raise PasskeyInvalid() from exc
    passkey = (
        Passkey.objects.select_related("person")
        .filter(credential_id=bytes_to_base64url(parsed.raw_id))
        .first()
    )
    if passkey is None:
        address.failed()
        _audit_sign_in(request, "refused", None, reason="unknown_credential")
        raise PasskeyRefused()
    person = passkey.person
    if not person.may_authenticate():
        address.failed()
        _audit_sign_in(request, "refused", passkey, reason="may_not_authenticate")
        raise PasskeyRefused()
    try:
        account = accounts_services.begin_account_sign_in(request, person=person)
    except Limited as exc:
        address.refund()  # the account's wait refused it, not this address
        _audit_sign_in(request, "limited", passkey, reason="account")
        raise SignInLimited(exc.retry_after) from None
    reason = _verify_and_count(request, passkey, parsed, expected)
    if reason:
        address.failed()
        account.failed()
        _audit_sign_in(request, "refused", passkey, reason=reason)
        raise PasskeyRefused()
    _succeeded(address, account)
    sessions.sign_in(request, person, factor=sessions.PASSKEY)
    _audit_sign_in(request, "success", passkey)
    return person


def _verify_and_count(request, passkey: Passkey, parsed, expected: bytes) -> str:
    """ "" when the answer is good (the sign count and last use are saved), else the reason."""
    rp = relying_party(request)
    with transaction.atomic():
        # Under the row lock: two answers of one authenticator cannot both pass one count.
        locked = Passkey.objects.select_for_update().get(pk=passkey.pk)
        # A discoverable credential names its person: it must be this passkey's person.
        if parsed.response.user_handle != user_handle(passkey.person):
            return "user_handle_mismatch"
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=expected,
                expected_rp_id=rp.id,
                expected_origin=rp.origins,
                credential_public_key=bytes(locked.public_key),
                credential_current_sign_count=locked.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError) as exc:
            if _count_regressed(parsed, locked.sign_count):
                return "sign_count_regressed"  # a cloned authenticator
            return "origin" if "origin" in str(exc) else "invalid_assertion"
        locked.sign_count = verified.new_sign_count
        locked.backed_up = verified.credential_backed_up
        locked.last_used_at = timezone.now()
        locked.save(update_fields=["sign_count", "backed_up", "last_used_at"])
    return ""


def _count_regressed(parsed, stored: int) -> bool:
    """The library's rule (WebAuthn 6.1.1): a counter that is in use must grow."""
    try:
        count = parse_authenticator_data(parsed.response.authenticator_data).sign_count
    except (WebAuthnException, ValueError):
        return False
    return (count > 0 or stored > 0) and count <= stored


def _succeeded(address: Attempt, account: Attempt) -> None:
    account.succeeded()  # the account's count of failures starts again, as after a password
    address.refund()  # a good sign-in is no attempt against the address (offices share one)


def _audit_sign_in(request, outcome: str, passkey: Passkey | None, **details) -> None:
    if passkey is not None:
        details |= {"passkey": passkey.pk, "name": passkey.name}
    audit.record(
        "auth.passkey",
        request=request,
        actor=passkey.person if passkey is not None and outcome == "success" else None,
        outcome=outcome,
        target=passkey.person if passkey is not None else None,
        details=details,
    )
