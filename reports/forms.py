"""The report filters: date range, department, person, area. Choices depend on who asks."""

from django import forms
from django.utils.translation import gettext_lazy as _

from access_control.models import Area
from access_control.selectors import areas_of_department
from accounts.models import Department, Role, User
from accounts.permissions import role_of

from .selectors.scope import STAFF_ROLES, default_range

MAX_DAYS = 800


class ReportFilterForm(forms.Form):
    # <input type=date> takes ISO dates only, whatever the locale.
    start = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=_("Until"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.all(),
        required=False,
        empty_label=_("All departments"),
        label=_("Department"),
    )
    person = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label=_("Everybody"), label=_("Person")
    )
    area = forms.ModelChoiceField(
        queryset=Area.objects.select_related("parent"),
        required=False,
        empty_label=_("All areas"),
        label=_("Area"),
    )

    def __init__(self, *args, user, report: str, **kwargs):
        super().__init__(*args, **kwargs)
        role = role_of(user)
        start, end = default_range()
        self.fields["start"].initial, self.fields["end"].initial = start, end
        people = User.objects.filter(role__in=STAFF_ROLES).order_by("display_name", "username")
        if role == Role.MANAGER:
            # A manager's filters offer only their own department, its people and areas.
            del self.fields["department"]
            people = people.filter(department_id=user.department_id)
            self.fields["area"].queryset = Area.objects.filter(
                pk__in=areas_of_department(user.department_id)
            ).select_related("parent")
        self.fields["person"].queryset = people
        if report != "attendance":
            del self.fields["person"]
        if report != "access":
            del self.fields["area"]
        if report == "access" and "department" in self.fields:
            del self.fields["department"]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("Choose at most %(days)d days.") % {"days": MAX_DAYS})
        return data

    def scope_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "start": data.get("start"),
            "end": data.get("end"),
            "department_id": getattr(data.get("department"), "pk", None),
            "person_id": getattr(data.get("person"), "pk", None),
            "area_id": getattr(data.get("area"), "pk", None),
        }
