"""decode_image: formats, EXIF orientation, limits and corrupt input (no models needed)."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from biometrics.engine import CorruptImage, ImageTooLarge, decode_image
from biometrics.engine.imaging import _decode_jpeg

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("mode", "fmt"), [("RGB", "JPEG"), ("L", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("LA", "PNG"),
                      ("RGB", "WEBP"), ("CMYK", "JPEG")],
)  # fmt: skip
def test_modes_become_rgb(mode, fmt):
    img = Image.new("RGB", (40, 30), (200, 100, 50)).convert(mode)
    arr = decode_image(_encode(img, fmt))
    assert arr.shape == (30, 40, 3) and arr.dtype == np.uint8


def test_exif_orientation_applied():
    data = (SHARED / "spoof" / "real" / "01.jpg").read_bytes()
    raw = Image.open(io.BytesIO(data))
    assert raw.getexif().get(0x0112) == 6
    arr = decode_image(data)
    assert arr.shape[:2] == (raw.width, raw.height)  # rotated by 90 degrees


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_decodes_like_pillow(orientation):
    """Complete RGB/grey JPEGs take OpenCV's fast path; it must give Pillow's pixels, upright."""
    yy, xx = np.mgrid[0:24, 0:40]
    pixels = np.stack([xx * 6, yy * 10, (xx + yy) * 3], axis=-1).astype(np.uint8)  # asymmetric
    exif = Image.Exif()
    exif[0x0112] = orientation
    for mode in ("RGB", "L"):
        data = _encode(Image.fromarray(pixels).convert(mode), "JPEG", exif=exif.tobytes())
        pillow = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
        assert np.array_equal(decode_image(data), pillow)
        assert _decode_jpeg(data, Image.open(io.BytesIO(data))) is not None  # the fast path
        # Without the end-of-image marker it is Pillow's decode (which refuses a cut file).
        with pytest.raises(CorruptImage):
            decode_image(data[:-2])


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_corrupt(data):
    with pytest.raises(CorruptImage) as exc:
        decode_image(data)
    assert exc.value.code == "corrupt_image"


def test_truncated_jpeg():
    data = (SHARED / "video" / "person_01_still.jpg").read_bytes()
    with pytest.raises(CorruptImage):
        decode_image(data[: len(data) // 2])


def test_too_many_bytes():
    with pytest.raises(ImageTooLarge) as exc:
        decode_image(b"\xff" * 2000, max_bytes=1000)
    assert exc.value.code == "image_too_large"


def test_decompression_bomb():
    # 49 Mpx of a single colour compresses to ~50 kB of PNG.
    bomb = _encode(Image.new("L", (7_000, 7_000)), "PNG")
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageTooLarge):
        decode_image(bomb)
    with pytest.raises(ImageTooLarge):
        decode_image(_encode(Image.new("RGB", (300, 300)), "PNG"), max_pixels=50_000)
