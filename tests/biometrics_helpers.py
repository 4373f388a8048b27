"""Helpers for tests that enrol real faces through the real pipeline."""

from .conftest import SHARED

FACES = SHARED / "faces"
VIDEO = SHARED / "video"


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


def timed_burst(
    clip: str, *, start_s: float = 0.0, seconds: float = 3.0, fps: float | None = None
) -> tuple[list[bytes], list[float]]:
    """JPEG frames as a capture page sends them (downscaled, JPEG), from a clip's timeline, and
    each frame's time in seconds; ``fps`` samples the clip as a streaming page does."""
    import cv2

    from biometrics.engine import liveness as engine_liveness

    rate = {} if fps is None else {"fps": fps}
    frames, times = engine_liveness.read_clip(
        VIDEO / clip, start_s=start_s, seconds=seconds, **rate
    )
    out = []
    for rgb in frames:
        small = engine_liveness.browser_frame(rgb)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
        assert ok
        out.append(buf.tobytes())
    return out, list(times)


def burst(clip: str, *, start_s: float = 0.0, seconds: float = 3.0) -> list[bytes]:
    return timed_burst(clip, start_s=start_s, seconds=seconds)[0]


def clip_frames(name: str, count: int) -> list[bytes]:
    """``count`` full-size JPEG frames spread over the clip (enrolment material)."""
    import cv2

    video = cv2.VideoCapture(str(VIDEO / name))
    total = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for i in range(count):
        video.set(cv2.CAP_PROP_POS_FRAMES, int((i + 0.5) * total / count))
        ok, frame = video.read()
        assert ok
        frames.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes())
    video.release()
    return frames


def realtime_clip(name: str, folder) -> str:
    """A real-time copy of a 15 fps ``*_live.mjpeg`` clip (every frame twice), in ``folder``:
    Chromium plays raw MJPEG at 30 fps (shared/video/README.md); never committed."""
    import re

    data = (VIDEO / f"{name}_live.mjpeg").read_bytes()
    starts = [m.start() for m in re.finditer(b"\xff\xd8\xff", data)]
    frames = [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]
    out = folder / f"{name}_live_30fps.mjpeg"
    out.write_bytes(b"".join(f + f for f in frames))
    return str(out)
