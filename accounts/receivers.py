"""Sign-in attempts go to the audit trail (Django's own auth signals)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed

from . import audit


def on_login(sender, request, user, **kwargs) -> None:
    audit.record("auth.password", actor=user, request=request, outcome="success", target=user)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Only the username: never the password that was tried.
    audit.record(
        "auth.password",
        request=request,
        actor=None,
        outcome="failure",
        target_label=str(credentials.get("username", ""))[:150],
    )


def connect() -> None:
    user_logged_in.connect(on_login, dispatch_uid="accounts.audit.login")
    user_login_failed.connect(on_login_failed, dispatch_uid="accounts.audit.login_failed")
