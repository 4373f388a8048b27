"""Untrusted image bytes -> RGB uint8 array, within a memory budget, EXIF orientation applied.

Every limit is checked on the header, before any pixel is decoded: an attacker controls the
dimensions, and a 0.5 MB JPEG can declare 6000x6000 (108 MB as RGB). Large JPEGs are decoded
reduced (libjpeg scales the IDCT by 1/2, 1/4 or 1/8), so the full-size image never exists.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import BurstTooLarge, CorruptImage, FrameTooLarge, ImageTooLarge

MAX_BYTES = 10 * 1024 * 1024  # 10 MB upload
# Header size of one photo. A 12 Mpx phone photo (4032x3024) fits. Not more, because reduced
# decoding does not help every JPEG: a progressive (or multi-scan) file is buffered whole as
# DCT coefficients, 6 bytes per pixel at 4:4:4 (measured: 208 MB for 6000x6000 decoded at 1/8).
MAX_PIXELS = 4096 * 3072
# Pixels actually decoded. Larger JPEGs are decoded at 1/2, 1/4 or 1/8: detection looks at
# <= 1600 px (detection.UPSAMPLE_MAX_SIDE) and the descriptor at a 150 px chip, so more pixels
# cost memory, not accuracy. PNG and WebP cannot be decoded reduced: larger ones are refused.
MAX_DECODED_PIXELS = 2048 * 1536
# One liveness-burst frame: a full-HD webcam. The capture page sends 480x360
# (liveness.CAPTURE_WIDTH).
MAX_FRAME_PIXELS = 1920 * 1080
# A whole burst: 60 frames (liveness.MAX_FRAMES) of 640x480, 55 MB decoded. The page sends 30
# frames of 480x360 (5.2 Mpx).
MAX_BURST_PIXELS = 60 * 640 * 480
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
REDUCTIONS = (1, 2, 4, 8)  # the scales libjpeg decodes at without a full-size pass
# OpenCV's IMREAD_REDUCED_* scale bits, combined with IMREAD_COLOR_RGB.
_CV_SCALE_FLAG = {1: 0, 2: 16, 4: 32, 8: 64}


def decode_image(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """Decode JPEG/PNG/WebP bytes to an upright RGB uint8 array (H, W, 3), at most
    MAX_DECODED_PIXELS (larger JPEGs are decoded reduced; below it, pixels are exact)."""
    header = _header(data, max_bytes=max_bytes)
    if header.width * header.height > max_pixels:
        raise ImageTooLarge(f"Image larger than {max_pixels / 1_000_000:.0f} megapixels")
    return _decode(data, header)


def decode_burst(
    frames: Sequence[bytes],
    *,
    max_bytes: int = MAX_BYTES,
    max_frame_pixels: int = MAX_FRAME_PIXELS,
    max_burst_pixels: int = MAX_BURST_PIXELS,
) -> list[np.ndarray]:
    """Decode a liveness burst. Every header is checked against the per-frame and per-burst
    pixel caps before the first frame is decoded, so an oversized burst costs no pixels."""
    headers = [_header(frame, max_bytes=max_bytes) for frame in frames]
    total = 0
    for header in headers:
        pixels = header.width * header.height
        if pixels > max_frame_pixels:
            raise FrameTooLarge(
                f"A burst frame may have at most {max_frame_pixels / 1_000_000:.1f} megapixels"
            )
        total += pixels
    if total > max_burst_pixels:
        raise BurstTooLarge(
            f"A burst may have at most {max_burst_pixels / 1_000_000:.1f} megapixels in all"
        )
    return [_decode(frame, header) for frame, header in zip(frames, headers, strict=True)]


def reduction_for(width: int, height: int) -> int | None:
    """The smallest libjpeg scale denominator that brings a JPEG within MAX_DECODED_PIXELS."""
    for scale in REDUCTIONS:
        if math.ceil(width / scale) * math.ceil(height / scale) <= MAX_DECODED_PIXELS:
            return scale
    return None


@contextmanager
def _pillow_errors() -> Iterator[None]:
    try:
        with warnings.catch_warnings():
            # Pillow only *warns* between MAX_IMAGE_PIXELS and 2x it; make every bomb an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("Image has too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptImage("Not a valid or complete image") from exc


def _header(data: bytes, *, max_bytes: int) -> Image.Image:
    """The image opened on its header only: format and size known, no pixel decoded."""
    if not data:
        raise CorruptImage("Empty image")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"Image larger than {max_bytes // (1024 * 1024)} MB")
    with _pillow_errors():
        img = Image.open(io.BytesIO(data))
    if img.format not in ALLOWED_FORMATS:
        raise CorruptImage(f"Unsupported image format {img.format}")
    return img


def _decode(data: bytes, header: Image.Image) -> np.ndarray:
    width, height = header.size
    scale = reduction_for(width, height) if header.format == "JPEG" else 1
    if scale is None or (scale == 1 and width * height > MAX_DECODED_PIXELS):
        raise ImageTooLarge(
            f"{header.format} images may have at most "
            f"{MAX_DECODED_PIXELS / 1_000_000:.1f} megapixels: send a smaller picture or a JPEG"
        )
    with _pillow_errors():
        if (fast := _decode_jpeg(data, header, scale)) is not None:
            return fast
        img = header
        if scale > 1:
            img.draft(img.mode, (max(1, width // scale), max(1, height // scale)))
            if img.size != (math.ceil(width / scale), math.ceil(height / scale)):
                raise CorruptImage("Not a valid or complete image")
        img.load()
        img = ImageOps.exif_transpose(img)
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            # Composite on white: transparent pixels are often black and would hide the face.
            img = img.convert("RGBA")
            bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(bg, img)
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def _decode_jpeg(data: bytes, header: Image.Image, scale: int = 1) -> np.ndarray | None:
    """Fast path for the common case, a complete RGB or grey JPEG (every webcam frame).

    OpenCV decodes straight into an array and applies the EXIF orientation itself, with the
    same pixels as Pillow's decode (``draft`` at the same scale) + ``exif_transpose``; Pillow's
    copy into NumPy costs as much again as the decode (1.1 of 2.7 ms for a 640x480 frame).
    Pillow keeps everything else: other modes (CMYK), and files without the end-of-image
    marker, which it rejects as truncated where libjpeg would only warn and pad the missing
    rows with grey."""
    if header.format != "JPEG" or header.mode not in ("RGB", "L"):
        return None
    if not data.endswith(b"\xff\xd9"):
        return None
    flags = cv2.IMREAD_COLOR_RGB | _CV_SCALE_FLAG[scale]
    rgb = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    expected = sorted((math.ceil(header.width / scale), math.ceil(header.height / scale)))
    if rgb is None or sorted(rgb.shape[:2]) != expected:
        raise CorruptImage("Not a valid or complete image")
    return rgb


def to_rgb_array(image: bytes | np.ndarray) -> np.ndarray:
    """Accept bytes (decoded with limits) or an RGB array already in memory."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_image(bytes(image))
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
        raise CorruptImage("Expected an RGB uint8 array")
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise ImageTooLarge("Image has too many pixels")
    return np.ascontiguousarray(arr[:, :, :3])
