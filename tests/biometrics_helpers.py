"""Helpers for tests that enrol real faces through the real pipeline."""

from .conftest import SHARED

FACES = SHARED / "faces"


def photo(relative: str) -> bytes:
    return (FACES / relative).read_bytes()


def photos(identity: str, numbers) -> list[bytes]:
    return [photo(f"{identity}/{n}.jpg") for n in numbers]


def enrol_now(person, images: list[bytes], capture_on_commit) -> object:
    """Enrol synchronously in this process, whatever the Celery mode (tests of matching)."""
    from biometrics import privacy, services

    if not privacy.has_consent(person):
        privacy.give_consent(person=person, channel="paper")
    with capture_on_commit(execute=False):
        job = services.start_enrolment(person=person, images=images)
    return services.run_enrolment(job_id=str(job.pk))


def upload(name: str, data: bytes, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)
