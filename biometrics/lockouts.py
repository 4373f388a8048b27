"""Lock-out and back-off for face attempts, on the shared attempt limit (``accounts.limits``).

A claimed person (1:1) waits FACEAUTH_LOCKOUT_BASE_SECONDS after FACEAUTH_LOCKOUT_THRESHOLD
consecutive failures, doubling with each further one up to an hour; after
FACEAUTH_LOCKOUT_DISABLE_AFTER face login is disabled until an admin resets it (NIST SP 800-63B
5.2.2); the PIN fallback (with review) still works.

A shared kiosk or door (1:N) only backs off for a few seconds (FACEAUTH_DEVICE_BACKOFF_*) and is
never disabled: anyone can fail there, so a long lock would let one person shut the kiosk for
everybody (security finding 14). Spoof attempts there raise a guard alert instead
(``signals.spoof_suspected``).

The state is a ``FaceLockout`` row per subject (durable, shown in the admin and the security
report); its counter changes under a row lock.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts import audit
from accounts.limits import Attempt, AttemptLimit, Limited, Policy

from .errors import BiometricError
from .models import FaceLockout

MAX_WAIT = timedelta(hours=1)


class LockedOut(BiometricError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "locked_out"
    message = _("Too many failed attempts. Please wait before trying again.")

    def __init__(self, retry_after: int = 1):
        super().__init__()
        self.retry_after = retry_after


class FaceLoginDisabled(BiometricError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "face_login_disabled"
    message = _("Face login is disabled after too many failures. Use your PIN or ask an admin.")


class _RowStore:
    """``accounts.limits.Store`` over ``FaceLockout`` rows: consecutive failures until a
    success (no window), the wait in ``locked_until``."""

    def __init__(self, kind: str):
        self.kind = kind

    def rows(self, key: str):
        return FaceLockout.objects.filter(subject_type=self.kind, subject_id=int(key))

    def locked_until(self, key: str) -> datetime | None:
        return self.rows(key).values_list("locked_until", flat=True).first()

    @transaction.atomic
    def increment(self, key: str, *, window: timedelta) -> int:
        state, _ = FaceLockout.objects.select_for_update().get_or_create(
            subject_type=self.kind, subject_id=int(key)
        )
        self.rows(key).update(consecutive_failures=F("consecutive_failures") + 1)
        return state.consecutive_failures + 1

    def decrement(self, key: str) -> None:
        self.rows(key).filter(consecutive_failures__gt=0).update(
            consecutive_failures=F("consecutive_failures") - 1
        )

    def lock(self, key: str, *, until: datetime) -> bool:
        free = Q(locked_until__isnull=True) | Q(locked_until__lte=timezone.now())
        return self.rows(key).filter(free).update(locked_until=until) == 1

    def unlock(self, key: str) -> None:
        self.rows(key).update(locked_until=None)

    def clear(self, key: str) -> None:
        # Most successes follow no failure: only rows that hold one are written.
        self.rows(key).filter(disabled=False).filter(
            Q(consecutive_failures__gt=0) | Q(locked_until__isnull=False)
        ).update(consecutive_failures=0, locked_until=None)


def person_policy() -> Policy:
    return Policy(
        threshold=settings.FACEAUTH_LOCKOUT_THRESHOLD,
        base=timedelta(seconds=settings.FACEAUTH_LOCKOUT_BASE_SECONDS),
        max_wait=MAX_WAIT,
    )


def device_policy() -> Policy:
    return Policy(
        threshold=settings.FACEAUTH_LOCKOUT_THRESHOLD,
        base=timedelta(seconds=settings.FACEAUTH_DEVICE_BACKOFF_BASE_SECONDS),
        factor=1.5,
        max_wait=timedelta(seconds=settings.FACEAUTH_DEVICE_BACKOFF_MAX_SECONDS),
    )


PERSON = AttemptLimit("face-person", person_policy, store=_RowStore(FaceLockout.Subject.PERSON))
DEVICE = AttemptLimit("face-device", device_policy, store=_RowStore(FaceLockout.Subject.DEVICE))


def _limit_and_key(person=None, device=None) -> tuple[AttemptLimit, str, str]:
    if person is not None:
        return PERSON, str(person.pk), str(person)
    return DEVICE, str(device.pk), str(device)


def begin(*, person=None, device=None) -> Attempt:
    """Count a face attempt of a claimed ``person`` (1:1) or at a ``device`` (1:N) before it is
    judged; raises ``LockedOut`` (with ``retry_after``) or ``FaceLoginDisabled``."""
    limit, key, label = _limit_and_key(person, device)
    if person is not None and limit.store.rows(key).filter(disabled=True).exists():
        raise FaceLoginDisabled()
    try:
        attempt = limit.begin(key)
    except Limited as exc:
        raise LockedOut(exc.retry_after) from None
    if attempt.failures == 1:
        limit.store.rows(key).filter(subject_label="").update(subject_label=label[:150])
    return attempt


def check(*, person=None, device=None) -> None:
    """Raise ``LockedOut`` / ``FaceLoginDisabled`` as ``begin`` would, without counting."""
    limit, key, _ = _limit_and_key(person, device)
    if person is not None and limit.store.rows(key).filter(disabled=True).exists():
        raise FaceLoginDisabled()
    wait = limit.retry_after(key)
    if wait > 0:
        raise LockedOut(wait)


def failed(attempt: Attempt) -> None:
    """The attempt failed: it stays counted; audit a new lock-out and disable at the limit."""
    attempt.failed()
    limit = attempt.limit
    rows = limit.store.rows(attempt.key)
    rows.update(total_failures=F("total_failures") + 1)
    state = rows.first()
    target = f"{limit.store.kind}:{state.subject_label if state else attempt.key}"
    if (
        limit is PERSON
        and attempt.failures >= settings.FACEAUTH_LOCKOUT_DISABLE_AFTER
        and rows.filter(disabled=False).update(disabled=True)
    ):
        audit.record(
            "face.disabled",
            outcome="locked",
            target_label=target,
            details={"failures": attempt.failures},
        )
    elif attempt.starts_lockout and attempt.wait is not None:
        audit.record(
            "face.lockout",
            outcome="locked",
            target_label=target,
            details={"seconds": int(attempt.wait.total_seconds())},
        )


def retry_after(*, person=None, device=None) -> int:
    limit, key, _ = _limit_and_key(person, device)
    return limit.retry_after(key)


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
