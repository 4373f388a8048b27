"""Access events: the shared append-only triggers (accounts.append_only) replace the
PostgreSQL-only trigger of 0002/0005, and SQLite gets them too; one pseudonym format.

Pseudonyms were "p-" + HMAC-SHA256(SECRET_KEY, "person:<id>")[:20]; they become
accounts.pseudonyms.pseudonym_of (the same as clock events). Rows pseudonymised earlier are
re-keyed here, between dropping the old trigger and installing the new ones."""

import hmac

from django.conf import settings
from django.db import migrations

from accounts.append_only import CLEAR, SET_ONCE, install_triggers, remove_triggers
from accounts.pseudonyms import pseudonym_of

REDACTABLE = {
    "person": CLEAR,
    "pseudonym": SET_ONCE,
    "score": CLEAR,
    "threshold": CLEAR,
    "client_request_id": CLEAR,
}
DROP_OLD = [
    "DROP TRIGGER IF EXISTS access_event_append_only ON access_control_accessevent",
    "DROP FUNCTION IF EXISTS access_event_append_only()",
]


def _old_pseudonym(person_id: int) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"person:{person_id}".encode(), "sha256")
    return "p-" + digest.hexdigest()[:20]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP_OLD:
            schema_editor.execute(sql, params=None)
    AccessEvent = apps.get_model("access_control", "AccessEvent")
    pseudonymised = AccessEvent.objects.exclude(pseudonym="")
    if pseudonymised.exists():
        users = apps.get_model("accounts", "User").objects.values_list("pk", flat=True)
        new = {_old_pseudonym(pk): pseudonym_of(pk) for pk in users}
        for old in pseudonymised.order_by().values_list("pseudonym", flat=True).distinct():
            if old in new:
                AccessEvent.objects.filter(pseudonym=old).update(pseudonym=new[old])
    install_triggers(schema_editor, AccessEvent, REDACTABLE)


def backwards(apps, schema_editor):
    remove_triggers(schema_editor, apps.get_model("access_control", "AccessEvent"))


class Migration(migrations.Migration):
    dependencies = [
        ("access_control", "0007_pass_approval"),
        ("accounts", "0005_audit_append_only_triggers"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
