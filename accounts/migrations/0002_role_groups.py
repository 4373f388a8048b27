from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_role_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make them exist now so the
    # groups get them on the first migrate. Later apps are covered by the post_migrate sync.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from accounts.roles import sync_role_groups

    sync_role_groups(apps=apps)


def remove_role_groups(apps, schema_editor):
    from accounts.models import Role

    apps.get_model("auth", "Group").objects.filter(name__in=[r.label for r in Role]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
