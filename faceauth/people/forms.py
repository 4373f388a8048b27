from django import forms

from accounts.admin import OnboardingForm
from accounts.models import TIME_LIMITED_ROLES, User
from accounts.services import EDITABLE_FIELDS

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MAX_IMPORT_BYTES = 1_000_000


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
        if not may_change_standing:
            for name in ("role", "valid_from", "valid_until"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Only a superuser may change this for this person."


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, comma separated, with a header row.")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError("The file is larger than 1 MB; split it.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file is not UTF-8 text.") from exc
