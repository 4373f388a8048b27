"""Lockout and back-off for face attempts, after NIST SP 800-63B section 5.2.2.

After FACEAUTH_LOCKOUT_THRESHOLD consecutive failures of a claimed person (1:1) or of a device
(1:N) the subject waits FACEAUTH_LOCKOUT_BASE_SECONDS, doubling with each further failure.
After FACEAUTH_LOCKOUT_DISABLE_AFTER consecutive failures face login is disabled until an admin
resets it; the PIN fallback (with review) still works.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import status

from accounts import audit

from .errors import BiometricError
from .models import FaceLockout

MAX_WAIT = timedelta(hours=1)


class LockedOut(BiometricError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "locked_out"
    message = "Too many failed attempts. Please wait before trying again."


class FaceLoginDisabled(BiometricError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "face_login_disabled"
    message = "Face login is disabled after too many failures. Use your PIN or ask an admin."


def _subject(person=None, device=None) -> tuple[str, int, str]:
    if person is not None:
        return FaceLockout.Subject.PERSON, person.pk, str(person)
    return FaceLockout.Subject.DEVICE, device.pk, str(device)


def ensure_allowed(*, person=None, device=None) -> None:
    kind, pk, _ = _subject(person, device)
    state = FaceLockout.objects.filter(subject_type=kind, subject_id=pk).first()
    if state is None:
        return
    if state.disabled:
        raise FaceLoginDisabled()
    if state.locked_until and state.locked_until > timezone.now():
        error = LockedOut()
        error.retry_after = int((state.locked_until - timezone.now()).total_seconds()) + 1
        raise error


def wait_after(failures: int) -> timedelta | None:
    over = failures - settings.FACEAUTH_LOCKOUT_THRESHOLD
    if over < 0:
        return None
    seconds = settings.FACEAUTH_LOCKOUT_BASE_SECONDS * (2 ** min(over, 16))
    return min(timedelta(seconds=seconds), MAX_WAIT)


@transaction.atomic
def record_failure(*, person=None, device=None) -> FaceLockout:
    kind, pk, label = _subject(person, device)
    state, _ = FaceLockout.objects.select_for_update().get_or_create(
        subject_type=kind, subject_id=pk, defaults={"subject_label": label}
    )
    state.consecutive_failures += 1
    state.total_failures += 1
    wait = wait_after(state.consecutive_failures)
    state.locked_until = timezone.now() + wait if wait else None
    if state.consecutive_failures >= settings.FACEAUTH_LOCKOUT_DISABLE_AFTER and not state.disabled:
        state.disabled = True
        audit.record(
            "face.disabled",
            outcome="locked",
            target_label=f"{kind}:{label}",
            details={"failures": state.consecutive_failures},
        )
    elif wait and state.consecutive_failures == settings.FACEAUTH_LOCKOUT_THRESHOLD:
        audit.record(
            "face.lockout",
            outcome="locked",
            target_label=f"{kind}:{label}",
            details={"seconds": int(wait.total_seconds())},
        )
    state.save()
    return state


def record_success(*, person=None, device=None) -> None:
    kind, pk, _ = _subject(person, device)
    # Most successes follow no failure: only rows that hold one are written.
    FaceLockout.objects.filter(subject_type=kind, subject_id=pk, disabled=False).filter(
        Q(consecutive_failures__gt=0) | Q(locked_until__isnull=False)
    ).update(consecutive_failures=0, locked_until=None)


def reset(*, lockout: FaceLockout, actor=None) -> None:
    """Admin reset: face login works again at once."""
    FaceLockout.objects.filter(pk=lockout.pk).update(
        consecutive_failures=0, locked_until=None, disabled=False
    )
    audit.record(
        "face.lockout_reset",
        actor=actor,
        outcome="done",
        target_label=f"{lockout.subject_type}:{lockout.subject_label}",
    )
