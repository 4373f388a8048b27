"""Alerts name a device (a kiosk: its spoofs leave no access event) or only a person, besides
a door; ``last_at`` (when it last happened) carries the bump window for alerts without events,
backfilled from each alert's last event."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def backfill_last_at(apps, schema_editor):
    Alert = apps.get_model("access_control", "Alert")
    AccessEvent = apps.get_model("access_control", "AccessEvent")
    last = AccessEvent.objects.filter(pk=models.OuterRef("last_event_id")).values("created_at")
    Alert.objects.update(last_at=models.Subquery(last[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("access_control", "0008_append_only_triggers"),
        ("accounts", "0006_pairing_link"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="device",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="access_alerts",
                to="accounts.device",
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="last_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="alert",
            name="access_point",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alerts",
                to="access_control.accesspoint",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="first_event",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="access_control.accessevent",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="last_event",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="access_control.accessevent",
            ),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("access_point__isnull", False),
                    ("device__isnull", False),
                    ("person__isnull", False),
                    _connector="OR",
                ),
                name="alert_names_a_place",
            ),
        ),
        # Last, after the schema changes: PostgreSQL refuses ALTER TABLE with pending row events.
        migrations.RunPython(backfill_last_at, migrations.RunPython.noop),
    ]
