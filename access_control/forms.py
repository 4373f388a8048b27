"""Forms of the visitor-pass pages. They parse; the services decide."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.permissions import role_of

from . import selectors
from .models import Area

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AreaChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Area) -> str:
        return str(obj)


class PassForm(forms.Form):
    """A pass for an existing visitor or contractor, or for a new one registered here."""

    visitor = forms.ModelChoiceField(
        queryset=selectors.visitors(),
        required=False,
        empty_label=_("— a new person —"),
        label=_("Visitor"),
    )
    new_name = forms.CharField(label=_("New person's name"), max_length=150, required=False)
    new_role = forms.ChoiceField(
        label=_("New person is a"),
        choices=[(Role.VISITOR, _("Visitor")), (Role.CONTRACTOR, _("Contractor"))],
        required=False,
    )
    new_email = forms.EmailField(label=_("New person's e-mail"), required=False)
    sponsor = forms.ModelChoiceField(
        queryset=selectors.sponsors(), required=False, label=_("Sponsor")
    )
    areas = AreaChoiceField(
        queryset=Area.objects.select_related("parent"),
        widget=forms.CheckboxSelectMultiple,
        label=_("Areas"),
    )
    starts_at = forms.DateTimeField(label=_("From"), widget=DATETIME_WIDGET)
    ends_at = forms.DateTimeField(label=_("Until"), widget=DATETIME_WIDGET)
    purpose = forms.CharField(max_length=200, label=_("Purpose"))

    widen_validity = forms.BooleanField(
        label=_("Widen the person's own access window to cover this pass (admins)"),
        required=False,
    )

    def __init__(self, *args, user, can_choose_sponsor: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visitor"].queryset = selectors.visitors(user=user)
        self.fields["sponsor"].queryset = selectors.sponsors()
        if not can_choose_sponsor:
            # Employees and managers sponsor their own visitors, and only visitors.
            del self.fields["sponsor"]
            del self.fields["widen_validity"]
            self.fields["new_role"].choices = [(Role.VISITOR, _("Visitor"))]
        elif role_of(user) != Role.ADMIN:
            del self.fields["widen_validity"]
        now = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["starts_at"].initial = now
        self.fields["ends_at"].initial = now + timedelta(hours=8)

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("visitor") and not data.get("new_name"):
            self.add_error("visitor", _("Choose a visitor or enter a new person's name."))
        if "sponsor" in self.fields and not data.get("sponsor"):
            self.add_error("sponsor", _("Name the employee who sponsors this visit."))
        return data


class ExtendForm(forms.Form):
    ends_at = forms.DateTimeField(label=_("New end"), widget=DATETIME_WIDGET)
    widen_validity = forms.BooleanField(
        label=_("Also widen the person's own access window (admins)"), required=False
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False, label=_("Reason"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EnrolForm(forms.Form):
    """Only renders the input: the view reads ``request.FILES.getlist("photos")``."""

    photos = forms.FileField(
        label=_("Photos (3 to 5)"),
        widget=MultipleFileInput(attrs={"accept": "image/*"}),
        required=False,
    )
    consent = forms.BooleanField(
        label=_("The visitor has signed the biometric consent form"),
        required=False,
    )
    consent_evidence = forms.CharField(
        label=_("Consent form reference (and ID checked)"), max_length=200, required=False
    )
