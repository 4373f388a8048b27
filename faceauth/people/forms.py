from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.admin import OnboardingForm
from accounts.models import TIME_LIMITED_ROLES, User
from accounts.services import EDITABLE_FIELDS

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MAX_IMPORT_BYTES = 1_000_000


# The person's fields as the people pages label them (the model keeps its English verbose
# names: no migration for a label), and the onboarding form's own fields.
PERSON_LABELS = {
    "username": _("Username"),
    "display_name": _("Display name"),
    "email": _("E-mail"),
    "employee_number": _("Employee number"),
    "role": _("Role"),
    "department": _("Department"),
    "job_title": _("Job title"),
    "valid_from": _("Valid from"),
    "valid_until": _("Valid until"),
    "sponsor": _("Sponsor"),
    "password": _("Password"),
    "pin": _("PIN"),
}
PERSON_HELP = {
    "password": _("Leave empty for people who only use kiosks and doors."),
    "pin": _("Optional PIN for the non-biometric fallback (stored hashed)."),
    "sponsor": _("The employee responsible for this visitor or contractor."),
}


def _label(form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        field.label = PERSON_LABELS.get(name, field.label)
        field.help_text = PERSON_HELP.get(name, field.help_text)


def _sponsors():
    return User.objects.filter(is_active=True).exclude(role__in=TIME_LIMITED_ROLES)


class AddPersonForm(OnboardingForm):
    """The admin's onboarding form (same fields and checks), with browser date pickers."""

    class Meta(OnboardingForm.Meta):
        widgets = {"valid_from": DATETIME, "valid_until": DATETIME}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sponsor"].queryset = _sponsors()
        self.fields["display_name"].required = True
        _label(self)


class EditPersonForm(forms.ModelForm):
    """Validates on a copy; the change itself is accounts.services.update_person."""

    class Meta:
        model = User
        fields = ("role", *EDITABLE_FIELDS)
        widgets = {"valid_from": DATETIME, "valid_until": DATETIME}

    def __init__(self, *args, may_change_standing: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sponsor"].queryset = _sponsors().exclude(pk=self.instance.pk)
        self.fields["display_name"].required = True
        _label(self)
        if not may_change_standing:
            for name in ("role", "valid_from", "valid_until"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Only a superuser may change this for this person.")


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"), help_text=_("UTF-8, comma separated, with a header row.")
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB; split it."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc
