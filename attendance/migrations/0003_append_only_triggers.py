"""Clock events: one pseudonym format for every log, and database triggers that refuse UPDATE
and DELETE except the two redactions (accounts.append_only).

Pseudonyms were salted_hmac("attendance.pseudonym", id) (SHA-1, 32 hex); they become
accounts.pseudonyms.pseudonym_of (the same for door events). Rows pseudonymised earlier are
re-keyed here, before the triggers exist, so that one person keeps one pseudonym."""

from django.db import migrations
from django.utils.crypto import salted_hmac

from accounts.append_only import CLEAR, RESTAMP, SET_ONCE, install_triggers, remove_triggers
from accounts.pseudonyms import pseudonym_of

REDACTABLE = {
    "person": CLEAR,
    "pseudonym": SET_ONCE,
    "score": CLEAR,
    "threshold": CLEAR,
    "model_version": CLEAR,
    "liveness": CLEAR,
    "redacted_at": RESTAMP,
}


def _old_pseudonym(person_id: int) -> str:
    return salted_hmac("attendance.pseudonym", str(person_id)).hexdigest()[:32]


def rekey_pseudonyms(apps) -> None:
    User = apps.get_model("accounts", "User")
    models = [
        apps.get_model("attendance", "ClockEvent"),
        apps.get_model("attendance", "Correction"),
    ]
    if not any(m.objects.exclude(pseudonym="").exists() for m in models):
        return
    new = {_old_pseudonym(pk): pseudonym_of(pk) for pk in User.objects.values_list("pk", flat=True)}
    for model in models:
        for old in (
            model.objects.exclude(pseudonym="")
            .order_by()
            .values_list("pseudonym", flat=True)
            .distinct()
        ):
            if old in new:
                model.objects.filter(pseudonym=old).update(pseudonym=new[old])


def forwards(apps, schema_editor):
    rekey_pseudonyms(apps)
    install_triggers(schema_editor, apps.get_model("attendance", "ClockEvent"), REDACTABLE)


def backwards(apps, schema_editor):
    remove_triggers(schema_editor, apps.get_model("attendance", "ClockEvent"))


class Migration(migrations.Migration):
    dependencies = [
        ("attendance", "0002_pseudonyms_and_redaction"),
        ("accounts", "0005_audit_append_only_triggers"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
