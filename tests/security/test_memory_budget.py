"""Issue 14, finding 3: one small request took gigabytes. A burst of 6000x6000 JPEGs (~0.5 MB
each) was decoded at full size (108 MB a frame) and uploads were read whole before any check.

Through the real stack (views, database, face pipeline, real clips and photos), and at unit
level on the decoder. Numbers for a production-like server: benchmarks/memory.py."""

import io
import tracemalloc
import uuid

import cv2
import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from attendance.models import ClockEvent
from biometrics import engine
from biometrics.engine import imaging

from ..biometrics_helpers import FACES, VIDEO, burst, enrol_now, upload

CLOCK = "/api/attendance/clock/"
CHALLENGE = "/api/biometrics/challenge/"
MB = 1024 * 1024


def bomb_jpeg(side: int = 6000) -> bytes:
    """A 6000x6000 JPEG of ~0.5 MB: smooth noise, small on disk, 108 MB as RGB."""
    rng = np.random.default_rng(14)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    big = cv2.resize(small, (side, side), interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 30])[1].tobytes()


def jpeg(rgb: np.ndarray, **kw) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=90, **kw)
    return out.getvalue()


def upscaled(data: bytes, factor: int) -> bytes:
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    h, w = rgb.shape[:2]
    return jpeg(cv2.resize(rgb, (w * factor, h * factor), interpolation=cv2.INTER_CUBIC))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = bomb_jpeg()
    assert 0.2 * MB < len(data) < 1 * MB
    return data


@pytest.fixture(autouse=True)
def _liveness(settings):
    settings.FACEAUTH_LIVENESS_ENABLED = True
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"


@pytest.fixture
def kiosk_client(client, kiosk):
    client.defaults["HTTP_AUTHORIZATION"] = f"Device {kiosk.token}"
    return client


def nonce(client) -> str:
    response = client.post(CHALLENGE)
    assert response.status_code == 201, response.content
    return response.json()["nonce"]


def clock_burst(client, frames: list[bytes]):
    data = {
        "capture_id": str(uuid.uuid4()),
        "frames": [upload(f"f{i}.jpg", f) for i, f in enumerate(frames)],
        "nonce": nonce(client),
    }
    return client.post(CLOCK, data)


# ---------------------------------------------------------------- the attack, real stack


def test_a_burst_of_huge_jpegs_is_refused_413_without_decoding_them(kiosk_client, bomb):
    tracemalloc.start()
    try:
        response = clock_burst(kiosk_client, [bomb] * 10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "frame_too_large"
    # The old code decoded each frame at full size: 10 x 108 MB.
    assert peak < 50 * MB, f"peak {peak / MB:.0f} MB"
    assert not ClockEvent.objects.exists()


def test_a_burst_over_the_byte_budget_is_refused_while_streaming(kiosk_client, bomb):
    response = clock_burst(kiosk_client, [bomb] * 25)
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "burst_too_large"
    one_big = clock_burst(kiosk_client, [np.random.bytes(settings.FACEAUTH_MAX_FRAME_BYTES + 1)])
    assert one_big.status_code == 413 and one_big.json()["code"] == "frame_too_large"
    assert not ClockEvent.objects.exists()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        (CLOCK, "multipart/form-data; boundary=xyz"),
        ("/api/biometrics/identify/", "multipart/form-data; boundary=xyz"),
        ("/api/access/check/", "multipart/form-data; boundary=xyz"),
        (CHALLENGE, "application/json"),
        (CLOCK, "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_announced_over_the_cap_is_refused_413_unread(kiosk_client, path, content_type):
    cap = (
        settings.FACEAUTH_MAX_REQUEST_BYTES
        if content_type.startswith("multipart")
        else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    # The test client's payload holds 10 bytes and fails any read past them: the view must
    # answer from the announced length alone.
    response = kiosk_client.generic(
        "POST", path, b"0123456789", content_type=content_type, CONTENT_LENGTH=str(cap + 1)
    )
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "request_too_large"


def test_a_photo_over_the_pixel_cap_is_refused_413(client, make_person):
    person = make_person("employee")
    client.force_login(person)
    response = client.post("/api/biometrics/analyse/", {"image": upload("big.jpg", bomb_jpeg())})
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "image_too_large"


@pytest.fixture
def person_03(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Oscar Third")
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    extra = burst("person_03_live.mp4", start_s=4.0, seconds=0.4)[:2]
    job = enrol_now(person, [still, *extra], django_capture_on_commit_callbacks)
    assert job.accepted == 3, job.error
    return person


def test_a_legal_burst_still_clocks_in(kiosk_client, person_03, monkeypatch):
    from biometrics import services

    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())
    response = clock_burst(kiosk_client, burst("person_03_live.mp4", start_s=0.5, seconds=3.0))
    assert response.status_code == 201, response.content
    assert ClockEvent.objects.get().person == person_03


# ---------------------------------------------------------------- reduced decoding


def test_a_large_jpeg_is_decoded_reduced_never_at_full_size():
    rng = np.random.default_rng(3)
    rgb = cv2.resize(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (4096, 3072))
    data = jpeg(rgb)
    full_bytes = 4096 * 3072 * 3
    tracemalloc.start()
    try:
        arr = engine.decode_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert arr.shape == (1536, 2048, 3)
    assert peak < full_bytes / 3, f"peak {peak / MB:.0f} MB"
    # The slow path (a CMYK JPEG goes through Pillow) is reduced in the same way (draft).
    cmyk = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(cmyk, "JPEG", quality=90)
    assert engine.decode_image(cmyk.getvalue()).shape == (1536, 2048, 3)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_reduced_decoding_keeps_pillows_pixels_and_orientation(orientation):
    from PIL import ImageOps

    yy, xx = np.mgrid[0:3000, 0:4000]
    rgb = np.stack([xx % 256, yy % 256, (xx // 16) % 256], axis=-1).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = jpeg(rgb, exif=exif.tobytes())
    pillow = Image.open(io.BytesIO(data))
    pillow.draft("RGB", (2000, 1500))
    pillow = np.asarray(ImageOps.exif_transpose(pillow))
    assert np.array_equal(engine.decode_image(data), pillow)


def test_normal_sizes_are_decoded_exactly():
    side = int(np.sqrt(imaging.MAX_DECODED_PIXELS))
    data = jpeg(np.full((side, side, 3), 128, np.uint8))
    assert engine.decode_image(data).shape == (side, side, 3)
    assert imaging.reduction_for(2048, 1536) == 1 and imaging.reduction_for(4032, 3024) == 2


def test_png_and_webp_over_the_decode_budget_are_refused():
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        Image.new("RGB", (2100, 1600)).save(out, fmt)
        with pytest.raises(engine.ImageTooLarge):
            engine.decode_image(out.getvalue())


def test_a_burst_is_checked_on_every_header_before_any_frame_is_decoded(monkeypatch, bomb):
    small = (VIDEO / "person_01_still.jpg").read_bytes()
    decoded = []
    real = imaging._decode
    monkeypatch.setattr(imaging, "_decode", lambda d, h: decoded.append(1) or real(d, h))
    with pytest.raises(engine.FrameTooLarge):
        engine.decode_burst([small] * 5 + [bomb])
    frame = jpeg(np.zeros((1080, 1920, 3), np.uint8))
    with pytest.raises(engine.BurstTooLarge):
        engine.decode_burst([frame] * 9)  # 9 full-HD frames: 18.7 Mpx
    assert decoded == []
    assert len(engine.decode_burst([small] * 3)) == 3


def test_reduced_decoding_gives_the_same_face_decision_on_real_photos():
    """Real photos, and the same photos at 2x (up to 3200x2130: decoded at 1/2): same verify
    decision against the person's templates and against another person's."""
    probes = {"deepface_12": "1.jpg", "deepface_02": "6.jpg", "deepface_08": "1.jpg"}
    people = list(probes)
    templates = {}
    for name in people:
        shots = [p for p in sorted((FACES / name).glob("*.jpg")) if p.name != probes[name]]
        templates[name] = np.vstack(
            [engine.extract(p.read_bytes(), purpose="enrol").embedding for p in shots[:3]]
        )
    for name, probe_file in probes.items():
        data = (FACES / name / probe_file).read_bytes()
        big = upscaled(data, 2)
        assert imaging.reduction_for(*Image.open(io.BytesIO(big)).size) == 2
        small_probe = engine.extract(data, purpose="verify")
        big_probe = engine.extract(big, purpose="verify")
        assert float(small_probe.embedding @ big_probe.embedding) > 0.97
        for owner in people:
            a = engine.verify(small_probe, templates[owner])
            b = engine.verify(big_probe, templates[owner])
            assert a.match == b.match == (owner == name), (name, owner, a.score, b.score)
