"""The database refuses UPDATE and DELETE of audit entries (raw SQL included), except the
foreign keys set to NULL when a person or a device is deleted. See accounts.append_only."""

from django.db import migrations

from accounts.append_only import CLEAR, install_triggers, remove_triggers

REDACTABLE = {"actor": CLEAR, "device": CLEAR}


def forwards(apps, schema_editor):
    install_triggers(schema_editor, apps.get_model("accounts", "AuditEntry"), REDACTABLE)


def backwards(apps, schema_editor):
    remove_triggers(schema_editor, apps.get_model("accounts", "AuditEntry"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_device_liveness")]

    operations = [migrations.RunPython(forwards, backwards)]
