"""Untrusted image bytes -> RGB uint8 array, with size limits and EXIF orientation applied."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import CorruptImage, ImageTooLarge

MAX_BYTES = 10 * 1024 * 1024  # 10 MB upload
MAX_PIXELS = 40_000_000  # 40 Mpx: larger is a decompression bomb for our purposes
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


def decode_image(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """Decode JPEG/PNG/WebP bytes to an upright RGB uint8 array (H, W, 3)."""
    if not data:
        raise CorruptImage("Empty image")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"Image larger than {max_bytes // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            # Pillow only *warns* between MAX_IMAGE_PIXELS and 2x it; make every bomb an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ALLOWED_FORMATS:
                raise CorruptImage(f"Unsupported image format {img.format}")
            # Check the header size before decoding any pixels.
            if img.width * img.height > max_pixels:
                raise ImageTooLarge(f"Image larger than {max_pixels // 1_000_000} megapixels")
            if (fast := _decode_jpeg(data, img)) is not None:
                return fast
            img.load()
            img = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("Image has too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptImage("Not a valid or complete image") from exc
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            # Composite on white: transparent pixels are often black and would hide the face.
            img = img.convert("RGBA")
            bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(bg, img)
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def _decode_jpeg(data: bytes, header: Image.Image) -> np.ndarray | None:
    """Fast path for the common case, a complete RGB or grey JPEG (every webcam frame).

    OpenCV decodes straight into an array and applies the EXIF orientation itself, with the
    same pixels as Pillow's decode + ``exif_transpose``; Pillow's copy into NumPy costs as much
    again as the decode (1.1 of 2.7 ms for a 640x480 frame). Pillow keeps everything else:
    other modes (CMYK), and files without the end-of-image marker, which it rejects as
    truncated where libjpeg would only warn and pad the missing rows with grey."""
    if header.format != "JPEG" or header.mode not in ("RGB", "L"):
        return None
    if not data.endswith(b"\xff\xd9"):
        return None
    rgb = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    if rgb is None or sorted(rgb.shape[:2]) != sorted(header.size):
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
