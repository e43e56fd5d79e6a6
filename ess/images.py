"""Photos redrawn with Pillow: what decodes is re-encoded upright and without any metadata
(EXIF, GPS, comments, colour profiles, text chunks, trailing bytes); everything else is refused.

Only the bytes written here are ever stored, so a polyglot (an image with HTML, a script or an
archive hidden in its metadata or appended to it) loses its passenger on the way in.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from console.errors import N_

# Decoders allowed (never guessed from a name or a declared type), and what each becomes.
_FORMATS: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
JPEG_QUALITY = 85
WEBP_QUALITY = 85
TOO_MANY_PIXELS = N_("This photo has too many pixels: at most %(max)s megapixels. Please send "
                     "a smaller photo.")
UNREADABLE = N_("This file is not a photo that can be opened. Please send the photo again as "
                "JPEG, PNG or WebP.")


class BadImage(ValueError):
    """A photo that is refused; `message` (translatable) and `params` say why."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def _clean_mode(image: Image.Image, fmt: str) -> Image.Image:
    """The image in a mode its format stores plainly (transparency kept for PNG/WebP)."""
    if fmt == "JPEG":
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        return image if image.mode == "RGBA" else image.convert("RGBA")
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def reencode(data: bytes, *, max_pixels: int) -> tuple[str, bytes]:
    """(content type, new bytes) of a JPEG, PNG or WebP photo, or BadImage.

    The size in the header is checked before any pixel is decoded; the first frame is decoded
    whole (a truncated file fails), turned upright by its EXIF orientation, then written anew
    with nothing but its pixels.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=tuple(_FORMATS))
    except Image.DecompressionBombError:
        raise BadImage(TOO_MANY_PIXELS, max=f"{max_pixels / 1_000_000:g}") from None
    except Exception:  # noqa: BLE001  (any decoder error: not a photo we can read)
        raise BadImage(UNREADABLE) from None
    with image:
        fmt = image.format
        width, height = image.size
        if fmt not in _FORMATS or width < 1 or height < 1:
            raise BadImage(N_("Only JPEG, PNG or WebP photos are accepted."))
        # NOTE: before load(): the header's size is all that has been read so far.
        if width * height > max_pixels:
            raise BadImage(TOO_MANY_PIXELS, max=f"{max_pixels / 1_000_000:g}")
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
            clean = _clean_mode(upright, fmt)
            clean.info = {}  # NOTE: nothing of the original's metadata reaches the encoder.
            out = io.BytesIO()
            if fmt == "JPEG":
                clean.save(out, format="JPEG", quality=JPEG_QUALITY)
            elif fmt == "PNG":
                clean.save(out, format="PNG")
            else:
                clean.save(out, format="WEBP", quality=WEBP_QUALITY)
        except Exception:  # noqa: BLE001  (truncated, corrupt, or a bomb in disguise)
            raise BadImage(UNREADABLE) from None
    return _FORMATS[fmt], out.getvalue()
