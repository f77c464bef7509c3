"""Logo normalisation: formats, resizing, frames, metadata, size limits and decompression bombs."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from shared.apps import logo
from shared.apps.logo import (
    MAX_LOGO_BYTES,
    NOT_AN_IMAGE,
    TOO_MANY_BYTES,
    TOO_MANY_PIXELS,
    LogoError,
    normalise_logo,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RED = (200, 30, 40)


def _encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    assert data.startswith(PNG_SIGNATURE)
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    assert img.mode == "RGBA"
    return img


def _noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width``x``height`` 1-bit grey pixels but carries no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


def _png_padded_to(total: int) -> bytes:
    """A valid 8x8 PNG grown to exactly ``total`` bytes by a private ancillary chunk after IHDR."""
    png = _encode(Image.new("RGB", (8, 8), RED), "PNG")
    pad = _chunk(b"prVt", b"\0" * (total - len(png) - 12))
    data = png[:33] + pad + png[33:]
    assert len(data) == total
    return data


def _animation(fmt: str) -> bytes:
    frames = [Image.new("RGB", (40, 20), c) for c in (RED, (0, 200, 0), (0, 0, 200))]
    return _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 10) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_each_accepted_format_becomes_rgba_png(fmt: str) -> None:
    img = _open(normalise_logo(_encode(Image.new("RGB", (64, 32), RED), fmt)))
    assert img.size == (64, 32)
    assert _close(img.getpixel((32, 16)), (*RED, 255))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fmt", "size", "expected"),
    [
        ("PNG", (1000, 500), (256, 128)),
        ("JPEG", (1000, 500), (256, 128)),
        ("GIF", (1000, 500), (256, 128)),
        ("WEBP", (1000, 500), (256, 128)),
        ("PNG", (500, 1000), (128, 256)),
        ("JPEG", (3000, 3000), (256, 256)),
        ("PNG", (300, 300), (256, 256)),
        ("PNG", (256, 256), (256, 256)),
        ("PNG", (257, 100), (256, 100)),
        ("PNG", (2000, 1), (256, 1)),
        ("PNG", (40, 20), (40, 20)),
        ("JPEG", (100, 255), (100, 255)),
        ("PNG", (1, 1), (1, 1)),
    ],
)
def test_fits_in_256_box_keeping_aspect_and_never_upscales(
    fmt: str, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert _open(normalise_logo(_encode(Image.new("RGB", size, RED), fmt))).size == expected


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("1", "PNG"),
        ("L", "PNG"),
        ("LA", "PNG"),
        ("P", "PNG"),
        ("RGBA", "PNG"),
        ("I;16", "PNG"),
        ("L", "JPEG"),
        ("CMYK", "JPEG"),
        ("P", "GIF"),
        ("RGBA", "WEBP"),
    ],
)
def test_every_source_mode_becomes_rgba(mode: str, fmt: str) -> None:
    img = _open(normalise_logo(_encode(Image.new(mode, (30, 20)), fmt)))
    assert img.size == (30, 20)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_alpha_is_kept(fmt: str) -> None:
    src = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    src.paste((*RED, 255), (10, 0, 20, 10))
    params = {"lossless": True} if fmt == "WEBP" else {}
    img = _open(normalise_logo(_encode(src, fmt, **params)))
    assert img.getpixel((2, 5))[3] == 0  # type: ignore[index]
    assert img.getpixel((17, 5)) == (*RED, 255)


def test_gif_transparent_index_becomes_alpha() -> None:
    src = Image.new("P", (10, 10), 1)
    src.putpalette([0, 0, 0, *RED] + [0] * 762)
    src.paste(0, (0, 0, 5, 10))
    img = _open(normalise_logo(_encode(src, "GIF", transparency=0)))
    assert img.getpixel((1, 1))[3] == 0  # type: ignore[index]
    assert img.getpixel((8, 8)) == (*RED, 255)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animation_keeps_only_the_first_frame(fmt: str) -> None:
    data = _animation(fmt)
    assert Image.open(io.BytesIO(data)).n_frames == 3  # type: ignore[attr-defined]
    out = normalise_logo(data)
    img = _open(out)
    assert getattr(img, "n_frames", 1) == 1
    assert b"acTL" not in out
    assert _close(img.getpixel((20, 10)), (*RED, 255))  # type: ignore[arg-type]


def test_metadata_is_stripped() -> None:
    src = Image.new("RGB", (20, 20), RED)
    exif = src.getexif()
    exif[0x013B] = "secret-artist"  # Artist
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "secret-comment")
    for data in (
        _encode(src, "JPEG", exif=exif, icc_profile=icc),
        _encode(src, "PNG", pnginfo=text, exif=exif, icc_profile=icc),
    ):
        assert b"secret" in data
        out = normalise_logo(data)
        assert b"secret" not in out
        for marker in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"pHYs"):
            assert marker not in out
        assert _open(out).info == {}


@pytest.mark.parametrize(("orientation", "expected"), [(1, (100, 50)), (6, (50, 100)), (8, (50, 100))])
def test_exif_orientation_is_applied(orientation: int, expected: tuple[int, int]) -> None:
    src = Image.new("RGB", (100, 50), RED)
    exif = src.getexif()
    exif[0x0112] = orientation
    assert _open(normalise_logo(_encode(src, "JPEG", exif=exif))).size == expected


_VALID_PNG = _encode(_noise((64, 64)), "PNG")
_VALID_JPEG = _encode(_noise((64, 64)), "JPEG")
_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_SVG, id="svg"),
        pytest.param(b'<?xml version="1.0"?>\n' + _SVG, id="svg-with-xml-declaration"),
        pytest.param(b"hello, this is a text file\n", id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(random.Random(7).randbytes(4096), id="random-bytes"),
        pytest.param(_VALID_PNG[: len(_VALID_PNG) // 2], id="truncated-png"),
        pytest.param(_VALID_JPEG[: len(_VALID_JPEG) // 2], id="truncated-jpeg"),
        pytest.param(PNG_SIGNATURE, id="png-signature-only"),
        pytest.param(PNG_SIGNATURE + random.Random(8).randbytes(512), id="png-signature-then-garbage"),
        pytest.param(b"GIF89a", id="gif-header-only"),
        pytest.param(b"RIFF\x10\x00\x00\x00WEBPVP8 ", id="webp-header-only"),
        pytest.param(_encode(Image.new("RGB", (8, 8)), "BMP"), id="bmp"),
        pytest.param(_encode(Image.new("RGB", (8, 8)), "TIFF"), id="tiff"),
        pytest.param(_encode(Image.new("RGB", (16, 16)), "ICO"), id="ico"),
        pytest.param(b"\0" * 16 + _VALID_PNG, id="png-not-at-start"),
    ],
)
def test_rejects_what_is_not_an_accepted_image(data: bytes) -> None:
    with pytest.raises(LogoError) as caught:
        normalise_logo(data)
    assert str(caught.value) == NOT_AN_IMAGE


def test_byte_limit_is_inclusive() -> None:
    assert MAX_LOGO_BYTES == 1_048_576
    out = normalise_logo(_png_padded_to(MAX_LOGO_BYTES))
    assert len(out) < 1_000
    assert _open(out).size == (8, 8)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_png_padded_to(MAX_LOGO_BYTES + 1), id="valid-png-one-byte-over"),
        pytest.param(b"\0" * (MAX_LOGO_BYTES + 1), id="non-image-over-the-limit"),
        pytest.param(_encode(_noise((700, 700)), "PNG"), id="noise-png"),
    ],
)
def test_rejects_more_than_1_mib(data: bytes) -> None:
    assert len(data) > MAX_LOGO_BYTES
    with pytest.raises(LogoError) as caught:
        normalise_logo(data)
    assert str(caught.value) == TOO_MANY_BYTES


def _gif_declaring(width: int, height: int) -> bytes:
    gif = bytearray(_encode(Image.new("P", (10, 10)), "GIF"))
    gif[6:10] = struct.pack("<HH", width, height)  # logical screen size
    return bytes(gif)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_png_declaring(20_000, 20_000), id="400-megapixel-ihdr"),
        pytest.param(_png_declaring(10_000, 10_000), id="100-megapixel-ihdr"),
        pytest.param(_png_declaring(5_000, 5_000), id="the-issues-5000x5000"),
        pytest.param(_png_declaring(2_048, 2_049), id="just-over-4-megapixels"),
        pytest.param(_png_declaring(1, 4_097), id="one-pixel-wide-too-tall"),
        pytest.param(_encode(Image.new("1", (6_000, 5_000)), "PNG"), id="real-30-megapixel-png"),
        pytest.param(_gif_declaring(20_000, 20_000), id="huge-gif-screen"),
    ],
)
def test_rejects_decompression_bombs(data: bytes) -> None:
    assert len(data) < 10_000
    with pytest.raises(LogoError) as caught:
        normalise_logo(data)
    assert str(caught.value) == TOO_MANY_PIXELS


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_png_declaring(10_000, 10_000), id="pillow-warning"),
        pytest.param(_png_declaring(20_000, 20_000), id="pillow-error"),
    ],
)
def test_pillow_bomb_checks_are_rejections_too(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """With our own pixel limit out of the way, Pillow's warning and error still reject."""
    monkeypatch.setattr(logo, "MAX_LOGO_PIXELS", 10**12)
    with pytest.raises(LogoError) as caught:
        normalise_logo(data)
    assert str(caught.value) == TOO_MANY_PIXELS


@pytest.mark.parametrize("size", [(2_048, 2_048), (4_096, 1_024)])
def test_pixel_and_side_limits_are_inclusive(size: tuple[int, int]) -> None:
    """At the limits the size check passes and decoding only then fails for the missing pixel data."""
    with pytest.raises(LogoError) as caught:
        normalise_logo(_png_declaring(*size))
    assert str(caught.value) == NOT_AN_IMAGE


def test_logo_error_is_a_value_error() -> None:
    assert issubclass(LogoError, ValueError)
