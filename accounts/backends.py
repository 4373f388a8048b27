from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .limits import AttemptLimit, Limited, Policy


class ValidityWindowBackend(ModelBackend):
    """Refuses inactive people and people outside their validity window (visitors, contractors)."""

    def user_can_authenticate(self, user) -> bool:
        may = getattr(user, "may_authenticate", None)
        return super().user_can_authenticate(user) and (may is None or may())


def account_policy() -> Policy:
    """Wrong passwords for one account from anywhere: axes locks a username at one address
    after 5; this bounds a spread attack (many addresses, one account) at
    FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES per hour before waits start (NIST SP 800-63B 5.2.2
    allows at most 100). The waits are short and double, so a stranger can slow a person's
    password sign-in but not shut it for long; face sign-in is not affected."""
    return Policy(
        threshold=settings.FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES,
        base=timedelta(minutes=1),
        max_wait=timedelta(minutes=15),
        window=timedelta(hours=1),
    )


LOGIN_ACCOUNT = AttemptLimit("login-account", account_policy)
# A sign-in that names no account before it is judged (a passkey: the credential says whose it
# is) counts per address as well, with the same numbers; axes does this for passwords.
LOGIN_ADDRESS = AttemptLimit("login-address", account_policy)


def account_key(username: str) -> str:
    return username.strip().casefold()


class AccountAttemptBackend:
    """Counts a password attempt on the account before it is judged (so concurrent guesses
    cannot all get past the limit) and refuses while the account waits; it authenticates
    nobody itself. A success clears the count (``accounts.receivers.on_login``), and the
    account lock-out page answers 429 (``AccountLimitMiddleware``). No ``get_user``: a session
    never names this backend (Django's force_login picks the first backend that has one)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        try:
            attempt = LOGIN_ACCOUNT.begin(account_key(str(username)))
        except Limited as exc:
            if request is not None:
                request.account_retry_after = exc.retry_after
            raise PermissionDenied from None  # stops the backend chain
        if request is not None:
            request.login_attempt = attempt
        return None
