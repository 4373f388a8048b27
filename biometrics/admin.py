"""Admin: enrol from uploaded photos, follow jobs, see template counts and quality.

No admin page shows an embedding or an image."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Avg, Count

from accounts.errors import DomainError

from . import enrolment_checks, lockouts, privacy, services
from .errors import WrongImageCount
from .models import (
    BiometricConsent,
    EnrolmentJob,
    EnrolmentPerson,
    FaceLockout,
    FaceSample,
    FaceTemplate,
    PolicyDocument,
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        return (
            [single(d, initial) for d in data]
            if isinstance(data, list | tuple)
            else [single(data, initial)]
        )


class EnrolmentForm(forms.ModelForm):
    images = MultipleFileField(help_text="3 to 5 photos of the person, one face each.")

    class Meta:
        model = EnrolmentJob
        fields = ("person",)

    def clean_person(self):
        person = self.cleaned_data["person"]
        if not privacy.has_consent(person):
            raise forms.ValidationError(
                "No biometric consent on record: record the signed release first "
                "(Biometric consents > Add)."
            )
        return person

    def clean_images(self) -> list[bytes]:
        images = [f.read() for f in self.cleaned_data["images"]]
        if not services.MIN_ENROLMENT_IMAGES <= len(images) <= services.MAX_ENROLMENT_IMAGES:
            raise forms.ValidationError(WrongImageCount.message)
        for n, data in enumerate(images, start=1):
            try:
                services.check_upload(data)
            except DomainError as exc:
                raise forms.ValidationError(f"Photo {n}: {exc.message}") from exc
        return images


class FaceSampleInline(admin.TabularInline):
    model = FaceSample
    fields = ("position", "status", "reason", "message", "quality", "byte_size")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EnrolmentJob)
class EnrolmentJobAdmin(admin.ModelAdmin):
    list_display = ("person", "status", "progress", "accepted", "total", "created_at")
    list_filter = ("status", "hold_reason", "review")
    search_fields = ("person__username", "person__display_name", "person__employee_number")
    readonly_fields = (
        "person",
        "requested_by",
        "status",
        "total",
        "processed",
        "accepted",
        "error",
        "hold_reason",
        "hold_match",
        "hold_score",
        "hold_threshold",
        "review",
        "reviewed_by",
        "reviewed_at",
        "review_note",
    )
    inlines = (FaceSampleInline,)
    actions = ("approve_held", "reject_held")

    def has_review_permission(self, request) -> bool:
        return enrolment_checks.may_review(request.user)

    def _review(self, request, queryset, *, approve: bool) -> None:
        done = 0
        for job in queryset.filter(status=EnrolmentJob.Status.HELD):
            enrolment_checks.review_enrolment(job=job, reviewer=request.user, approve=approve)
            done += 1
        verb = "Approved" if approve else "Rejected"
        self.message_user(request, f"{verb} {done} held enrolment(s).", messages.SUCCESS)

    @admin.action(description="Approve held enrolments (attach the faces)", permissions=["review"])
    def approve_held(self, request, queryset) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description="Reject held enrolments (discard the photos)", permissions=["review"])
    def reject_held(self, request, queryset) -> None:
        self._review(request, queryset, approve=False)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = EnrolmentForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return () if obj is None else self.inlines

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        job = services.start_enrolment(
            person=form.cleaned_data["person"],
            images=form.cleaned_data["images"],
            requested_by=request.user,
        )
        obj.pk, obj._state.adding, obj._state.db = job.pk, False, job._state.db

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FaceTemplate)
class FaceTemplateAdmin(admin.ModelAdmin):
    list_display = ("person", "model_version", "quality_score", "created_at")
    list_filter = ("model_version",)
    search_fields = ("person__username", "person__display_name")
    fields = ("person", "sample", "model_version", "quality_score", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EnrolmentPerson)
class EnrolmentPersonAdmin(admin.ModelAdmin):
    """Per person: how many templates and of what quality (never the templates)."""

    list_display = ("__str__", "employee_number", "role", "templates", "mean_quality")
    list_filter = ("role", "is_active")
    search_fields = ("username", "display_name", "employee_number")
    actions = ("revoke", "erase")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_templates=Count("face_templates"), quality=Avg("face_templates__quality_score")
            )
        )

    @admin.display(ordering="n_templates", description="templates")
    def templates(self, obj) -> int:
        return obj.n_templates

    @admin.display(ordering="quality", description="mean quality")
    def mean_quality(self, obj) -> str:
        return f"{obj.quality:.2f}" if obj.quality is not None else "-"

    @admin.action(description="Revoke face templates")
    def revoke(self, request, queryset) -> None:
        total = sum(services.revoke_templates(person=p, actor=request.user) for p in queryset)
        self.message_user(request, f"Deleted {total} template(s).", messages.SUCCESS)

    @admin.action(description="Erase all face data (templates, samples, jobs)")
    def erase(self, request, queryset) -> None:
        for person in queryset:
            privacy.erase_face_data(person=person, actor=request.user, reason="admin")
        self.message_user(request, f"Erased the face data of {queryset.count()} person(s).")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(admin.ModelAdmin):
    """Editing a text publishes a new version; published versions never change."""

    list_display = ("kind", "version", "title", "published_at", "published_by")
    list_filter = ("kind",)
    fields = ("kind", "title", "body")

    def get_readonly_fields(self, request, obj=None):
        return ("kind",) if obj else ()

    def save_model(self, request, obj, form, change) -> None:
        document = privacy.publish_policy(
            kind=obj.kind, title=obj.title, body=obj.body, actor=request.user
        )
        obj.pk, obj.version, obj._state.adding = document.pk, document.version, False
        obj._state.db = document._state.db

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BiometricConsent)
class BiometricConsentAdmin(admin.ModelAdmin):
    """Record a signed paper release; withdraw (which erases the face data)."""

    list_display = ("person", "document", "channel", "given_at", "recorded_by", "withdrawn_at")
    list_filter = ("channel", "withdrawn_at")
    search_fields = ("person__username", "person__display_name", "person__employee_number")
    fields = ("person", "document", "channel")
    actions = ("withdraw",)

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj else ()

    def get_changeform_initial_data(self, request):
        current = privacy.current_policy(PolicyDocument.Kind.CONSENT)
        return {
            "channel": BiometricConsent.Channel.PAPER,
            "document": current.pk if current else None,
        }

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        consent = privacy.give_consent(
            person=obj.person,
            channel=obj.channel,
            document_version=obj.document.version,
            recorded_by=request.user,
        )
        obj.pk, obj._state.adding, obj._state.db = consent.pk, False, consent._state.db

    @admin.action(description="Withdraw consent (erases the face data)")
    def withdraw(self, request, queryset) -> None:
        for consent in queryset.filter(withdrawn_at__isnull=True):
            privacy.withdraw_consent(person=consent.person, actor=request.user)
        self.message_user(request, "Consent withdrawn and face data erased.", messages.SUCCESS)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FaceLockout)
class FaceLockoutAdmin(admin.ModelAdmin):
    """Who is locked out of face login, and the reset after 50 failures (NIST SP 800-63B)."""

    list_display = (
        "subject_type",
        "subject_label",
        "consecutive_failures",
        "total_failures",
        "locked_until",
        "disabled",
        "updated_at",
    )
    list_filter = ("subject_type", "disabled")
    search_fields = ("subject_label",)
    actions = ("reset",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.action(description="Reset: face login works again at once")
    def reset(self, request, queryset) -> None:
        for lockout in queryset:
            lockouts.reset(lockout=lockout, actor=request.user)
        self.message_user(request, f"Reset {queryset.count()} lockout(s).", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
