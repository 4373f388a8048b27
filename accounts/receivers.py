"""Sign-in attempts and lock-outs go to the audit trail (Django's and django-axes' signals)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed

from . import audit, sessions


def on_login(sender, request, user, **kwargs) -> None:
    attempt = getattr(request, "login_attempt", None)
    if attempt is not None:
        attempt.succeeded()  # the account's count of wrong passwords starts again
    # sessions.sign_in names another first factor (a passkey; its caller audits it).
    factor = getattr(request, sessions.FIRST_FACTOR_ATTRIBUTE, sessions.PASSWORD)
    if factor == sessions.PASSWORD:
        audit.record("auth.password", actor=user, request=request, outcome="success", target=user)
    if request is not None and hasattr(request, "session"):
        sessions.record_factor(request, factor=factor, user=user)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Only the username: never the password that was tried.
    audit.record(
        "auth.password",
        request=request,
        actor=None,
        outcome="failure",
        target_label=str(credentials.get("username", ""))[:150],
    )


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    audit.record(
        "auth.locked_out",
        request=request,
        actor=None,
        outcome="locked",
        target_label=str(username or "")[:150],
    )


def connect() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(on_locked_out, dispatch_uid="accounts.audit.locked_out")
    user_logged_in.connect(on_login, dispatch_uid="accounts.audit.login")
    user_login_failed.connect(on_login_failed, dispatch_uid="accounts.audit.login_failed")
