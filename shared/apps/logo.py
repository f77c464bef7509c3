"""Normalise an uploaded app logo into a small, metadata-free PNG.

The bytes decide the format (never a filename or content type). Decoding is guarded against
decompression bombs by checking the declared size before any pixel is decoded. Pillow is
imported lazily: it adds ~30 ms to import time and only this path needs it.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MAX_LOGO_BYTES = 1_048_576
# Declared dimensions are checked before a pixel is decoded: decoding a logo at most 4096 px a side and
# 4 megapixels takes at most 16 MiB as RGBA (a 5000x5000 PNG used to take 100 MiB). A JPEG may have up
# to 4096x4096: it is decoded at 1/8 scale (``draft``), so it costs less than that.
MAX_LOGO_SIDE = 4096
MAX_LOGO_PIXELS = 4_194_304
MAX_JPEG_PIXELS = MAX_LOGO_SIDE * MAX_LOGO_SIDE
LOGO_BOX = (256, 256)

TOO_MANY_BYTES = "Logo must be at most 1 MiB"
NOT_AN_IMAGE = "Logo must be a PNG, JPEG, GIF or WebP image"
TOO_MANY_PIXELS = "Logo image is too large to process"

# What Pillow's decoders raise on truncated or malformed input. Anything here means "not an image".
_DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
)


class LogoError(ValueError):
    """An uploaded logo was rejected; ``str(error)`` is a message fit to show the uploader."""


def sniff_format(data: bytes) -> str | None:
    """The Pillow format name for ``data``'s magic bytes, or ``None`` if not an accepted format."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def normalise_logo(data: bytes) -> bytes:
    """Return ``data`` as an RGBA PNG that fits in 256x256 (never upscaled), without metadata.

    Accepts PNG, JPEG, GIF or WebP up to 1 MiB, 4096 px a side and 4 megapixels (JPEG: 16);
    animations keep their first frame; EXIF orientation is applied. Raises ``LogoError`` on any rejection.
    """
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError(TOO_MANY_BYTES)
    fmt = sniff_format(data)
    if fmt is None:
        raise LogoError(NOT_AN_IMAGE)
    frame = _decode_first_frame(data, fmt)
    return _encode_png(_fit(frame))


def _decode_first_frame(data: bytes, fmt: str) -> PILImage:
    """Decode only the first frame, as RGBA, refusing images that declare too many pixels."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                limit = MAX_JPEG_PIXELS if fmt == "JPEG" else MAX_LOGO_PIXELS
                if width * height > limit or max(width, height) > MAX_LOGO_SIDE:
                    raise LogoError(TOO_MANY_PIXELS)
                img.draft(None, LOGO_BOX)  # JPEG only: decode at a reduced scale when possible
                upright = ImageOps.exif_transpose(img)
                return upright.convert("RGBA")
    except LogoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LogoError(TOO_MANY_PIXELS) from exc
    except _DECODE_ERRORS as exc:
        raise LogoError(NOT_AN_IMAGE) from exc


def _fit(img: PILImage) -> PILImage:
    """Shrink to fit ``LOGO_BOX`` keeping the aspect ratio; ``thumbnail`` never enlarges."""
    from PIL import Image

    img.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    return img


def _encode_png(img: PILImage) -> bytes:
    """PNG from the raw pixels only, so no ICC profile, EXIF or text chunk is carried over."""
    from PIL import Image

    clean = Image.frombytes("RGBA", img.size, img.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()
