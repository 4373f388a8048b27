from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Direction


class CorrectionRequestForm(forms.Form):
    direction = forms.ChoiceField(
        choices=Direction.choices, initial=Direction.OUT, label=_("Missing clock event")
    )
    timestamp = forms.DateTimeField(
        label=_("When (your local time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
        help_text=_("For example: forgot to clock out when leaving at 17:30."),
    )

    def clean_timestamp(self):
        value = self.cleaned_data["timestamp"]
        if value > timezone.now():
            raise forms.ValidationError(_("The time cannot be in the future."))
        return value
