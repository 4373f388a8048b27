"""One-time pairing links: an admin pairs a screen as a kiosk or door by opening a link on it
(or scanning its QR code), never by typing or copying the device token.

A link is a credential for one thing, pairing one browser as one device: single use (used up
atomically when the screen confirms), expiring in ``FACEAUTH_PAIRING_LINK_TTL`` (minutes), one
open link per device (a new one revokes the old), refused once the device is revoked, and every
step is audited. The paired session is bound to the device's current token (``pair_session``),
so rotating or revoking the device still unpairs it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit, one_time_links
from .authentication import pair_session, touch
from .errors import PairingLinkNotFound, PairingLinkNotUsable
from .models import Device, PairingLink, User

# Long enough to walk to the screen and scan, short enough that a photographed code is stale.
DEFAULT_TTL = timedelta(minutes=10)


def ttl() -> timedelta:
    return getattr(settings, "FACEAUTH_PAIRING_LINK_TTL", DEFAULT_TTL)


@transaction.atomic
def issue_pairing_link(*, device: Device, actor: User | None) -> tuple[PairingLink, str]:
    """A new link for ``device`` (its open links are revoked). Returns the link and its token,
    which is shown once and never stored in clear."""
    if not device.is_active:
        raise PairingLinkNotUsable(_("This device is revoked: issue a new token first."))
    revoke_pairing_links(device=device, actor=actor, reason="replaced")
    token, token_hash = one_time_links.new_token()
    now = timezone.now()
    link = PairingLink.objects.create(
        device=device,
        token_hash=token_hash,
        created_by=actor,
        created_at=now,
        expires_at=now + ttl(),
    )
    audit.record(
        "device.pairing_link",
        actor=actor,
        outcome="issued",
        target=device,
        details={"link": link.pk, "expires_at": link.expires_at.isoformat()},
    )
    return link, token


def revoke_pairing_links(*, device: Device, actor: User | None, reason: str = "revoked") -> int:
    """Revoke the device's open links (rotation and revocation call this too)."""
    now = timezone.now()
    links = list(
        PairingLink.objects.select_for_update().filter(
            one_time_links.open_links(now), device=device
        )
    )
    for link in links:
        link.revoked_at = now
        link.save(update_fields=["revoked_at"])
        audit.record(
            "device.pairing_link",
            actor=actor,
            outcome=reason,
            target=device,
            details={"link": link.pk},
        )
    return len(links)


def find_pairing_link(token: str) -> PairingLink:
    """The link of ``token`` whatever its state (404 if there is none)."""
    link = (
        PairingLink.objects.select_related("device")
        .filter(token_hash=one_time_links.hash_token(token))
        .first()
        if token
        else None
    )
    if link is None:
        raise PairingLinkNotFound()
    return link


def _usable(link: PairingLink) -> str:
    if link.state == "open" and not link.device.is_active:
        return "device_revoked"
    return link.state


def open_pairing_link(token: str, *, request=None) -> PairingLink:
    """The link of ``token`` if it may still be used (410 and an audit entry otherwise)."""
    link = find_pairing_link(token)
    state = _usable(link)
    if state != "open":
        audit.record(
            "device.pairing_link",
            request=request,
            actor=None,
            outcome=f"refused_{state}",
            target=link.device,
            details={"link": link.pk},
        )
        raise PairingLinkNotUsable()
    return link


def redeem_pairing_link(*, token: str, request) -> Device:
    """Pair ``request``'s browser session as the link's device and use the link up. The link
    row is locked, so two screens racing on one link pair one device only once."""
    link = open_pairing_link(token, request=request)
    with transaction.atomic():
        link = PairingLink.objects.select_for_update().select_related("device").get(pk=link.pk)
        if _usable(link) != "open":
            raise PairingLinkNotUsable()
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        # A new session key, as after any sign-in (session fixation).
        request.session.cycle_key()
        pair_session(request.session, link.device)
        touch(link.device)
        audit.record(
            "device.pairing_link",
            request=request,
            actor=None,
            outcome="used",
            target=link.device,
            details={"link": link.pk},
        )
    return link.device
