"""Face lock-outs as the rule makes them: failed attempts counted by ``biometrics.lockouts``
with the configured threshold (FACEAUTH_LOCKOUT_THRESHOLD), so the dashboard shows one person
locked out for a while and one still failing below the threshold. Nobody is disabled: that
takes FACEAUTH_LOCKOUT_DISABLE_AFTER failures across lock-outs, which a month of honest
history does not produce."""

import random

from django.conf import settings

from accounts.models import User
from biometrics import lockouts


def fail_face_attempts(*, person: User, failures: int) -> int:
    done = 0
    for _ in range(failures):
        try:
            attempt = lockouts.begin(person=person)
        except (lockouts.LockedOut, lockouts.FaceLoginDisabled):
            break
        lockouts.failed(attempt)
        done += 1
    return done


def lockouts_for(rng: random.Random, people: list[User]) -> int:
    if len(people) < 2:
        return 0
    locked, failing = rng.sample(people, k=2)
    threshold = settings.FACEAUTH_LOCKOUT_THRESHOLD
    fail_face_attempts(person=locked, failures=threshold)
    fail_face_attempts(person=failing, failures=max(1, threshold - 2))
    return 2
