"""Reading images users hand us: a pixel cap checked from the header before decoding (a 429-byte
PNG can claim 12000x12000 pixels), a full decode check, and 8-bit RGB out, every mode converted
explicitly (`to_rgb`): 16-bit grey scaled to 8 bits (Pillow's own conversion clips it to white),
palettes expanded, transparency composited over white."""

from __future__ import annotations

import hashlib
import io
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from dataigm.core.errors import DataIGMError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MAX_PIXELS = 4096 * 4096  # larger images are refused before decoding


def _pillow_open(data: bytes) -> Image.Image:
    """Pillow's own `Image.open`. Importing ultralytics replaces `PIL.Image.open` with a wrapper that,
    on a file Pillow cannot identify, tries to pip-install pi-heif and then fails with an unrelated
    error: an unreadable image must stay one clear line, and never install anything."""
    opener = Image.open
    if getattr(opener, "__module__", "PIL.Image") != "PIL.Image":
        opener = getattr(sys.modules.get(opener.__module__), "_image_open", opener)
    return opener(io.BytesIO(data))


def decode(data: bytes, where: str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Bytes -> fully decoded RGB image, or one DataIGMError naming `where`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _pillow_open(data)
            width, height = image.size
            if width * height > max_pixels:
                raise DataIGMError(f"{where}: {width}x{height} pixels is over the {max_pixels:,}-pixel limit")
            image.load()
    except DataIGMError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataIGMError(f"{where}: over the {max_pixels:,}-pixel limit ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataIGMError(f"{where}: not a readable image ({exc})") from None
    return to_rgb(image, where)


def to_rgb(image: Image.Image, where: str) -> Image.Image:
    """8-bit RGB of any decoded image. 16-bit and 32-bit integer grey keep their top 8 bits (as
    Pillow does for 16-bit RGB); palette and grey images expand; any alpha (RGBA, LA, a palette's
    transparency) is composited over white, the page colour the image is shown on."""
    import numpy as np

    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image).astype(np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise DataIGMError(f"{where}: {mode} pixel values outside 0..65535; not an image dataigm reads")
        return Image.fromarray((values >> 8).astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        raise DataIGMError(f"{where}: floating-point pixels (mode F); save the image as 8- or 16-bit")
    if (mode == "P" and "transparency" in image.info) or mode in ("PA", "LA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image).convert("RGB")
    return image.convert("RGB")


def read_image(path: Path) -> tuple[Image.Image, str]:
    """(RGB image, sha256 of the file's bytes)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataIGMError(f"{path}: cannot read ({exc.strerror})") from None
    return decode(data, str(path)), hashlib.sha256(data).hexdigest()


def image_files(folder: Path) -> list[Path]:
    """Every image file below `folder`, sorted; one clear line when there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataIGMError(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataIGMError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def batched(items: list, size: int) -> Iterator[list]:
    """Consecutive chunks of `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
