from django import forms
from django.utils.translation import gettext_lazy as _

from access_control import selectors as access_selectors
from access_control.models import AccessMode
from accounts.models import DeviceKind


class DoorForm(forms.Form):
    """Which access point a door terminal serves: an existing one, or a new one in an area."""

    access_point = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=_("Access point"),
        empty_label=_("A new access point"),
        help_text=_("Pick an existing door to replace its terminal, or create a new one below."),
    )
    point_name = forms.CharField(
        label=_("New access point name"),
        max_length=120,
        required=False,
        help_text=_("Defaults to the device's name."),
    )
    area = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("A new area"), label=_("Area")
    )
    new_area = forms.CharField(label=_("New area name"), max_length=120, required=False)
    mode = forms.ChoiceField(
        choices=AccessMode.choices, initial=AccessMode.FACE, required=False, label=_("Mode")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["access_point"].queryset = access_selectors.access_points()
        self.fields["area"].queryset = access_selectors.areas()

    def clean(self):
        data = super().clean()
        if self.is_door() and not data.get("access_point"):
            if not data.get("area") and not (data.get("new_area") or "").strip():
                self.add_error("new_area", _("Pick an area or name a new one."))
        return data

    def is_door(self) -> bool:
        return True


class DeviceForm(DoorForm):
    name = forms.CharField(
        max_length=120, label=_("Name"), help_text=_("As people know it: “Main entrance”.")
    )
    kind = forms.ChoiceField(choices=DeviceKind.choices, widget=forms.RadioSelect, label=_("Kind"))
    location = forms.CharField(max_length=200, required=False, label=_("Location"))

    field_order = ["kind", "name", "location"]

    def is_door(self) -> bool:
        return self.cleaned_data.get("kind") == DeviceKind.DOOR
