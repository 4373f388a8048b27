from django.db import migrations

DEFAULTS = {
    "consent": (
        "Consent to biometric processing",
        "FaceAuth compares a mathematical template of your face with the picture taken when you "
        "clock in or open a door. I agree that my employer creates and stores such templates "
        "(encrypted) for time-keeping and access control. No photo is kept. The templates are "
        "deleted when I withdraw this consent, when I leave, or after the retention period. I "
        "may use my employee number and PIN instead, with no disadvantage.",
    ),
    "privacy_notice": (
        "Privacy notice",
        "FaceAuth processes face templates (special-category data under GDPR art. 9) only with "
        "your written consent, for attendance and access control. Templates are encrypted, are "
        "never shown to anybody, and are not shared. You can see and download your data, and "
        "delete your face data at any time. A non-biometric alternative (employee number and "
        "PIN) is always available.",
    ),
    "retention_policy": (
        "Retention policy",
        "Face templates are deleted 30 days after their last use or at once when you leave or "
        "withdraw consent, and never kept longer than 3 years after your last interaction. "
        "Enrolment photos are not kept. Clock and access events are kept for their own legal "
        "periods and then pseudonymised.",
    ),
}


def seed(apps, schema_editor):
    PolicyDocument = apps.get_model("biometrics", "PolicyDocument")
    for kind, (title, body) in DEFAULTS.items():
        if not PolicyDocument.objects.filter(kind=kind).exists():
            PolicyDocument.objects.create(kind=kind, version=1, title=title, body=body)


class Migration(migrations.Migration):
    dependencies = [("biometrics", "0003_consent_and_policies")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
