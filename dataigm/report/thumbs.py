"""Thumbnails for a report: JPEG data URIs made from the stored image bytes, once each, on a
thread pool, within a byte budget (the page stays one bounded, offline file)."""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor

from dataigm.core.images import decode

SIDE = 160
QUALITY = 70


def thumbnail(data: bytes, where: str) -> str:
    """A JPEG thumbnail of image bytes, as a data URI."""
    image = decode(data, where)
    image.thumbnail((SIDE, SIDE))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


class Thumbnails:
    """Collects images to show, then makes their thumbnails in parallel within `max_bytes`."""

    def __init__(self, max_images: int, max_bytes: int):
        self.max_images, self.max_bytes = max_images, max_bytes
        self.wanted: dict[str, bytes] = {}
        self.made: dict[str, str] = {}

    def room(self) -> int:
        """How many more images may be asked for."""
        return self.max_images - len(self.wanted)

    def add(self, key: str, data: bytes) -> bool:
        """Ask for a thumbnail of `data` under `key`; False when the image budget is spent."""
        if key in self.wanted:
            return True
        if self.room() <= 0:
            return False
        self.wanted[key] = data
        return True

    def make(self) -> None:
        """Make the thumbnails asked for, until the byte budget is spent."""
        keys = list(self.wanted)
        with ThreadPoolExecutor(max_workers=2) as pool:
            uris = list(pool.map(lambda k: thumbnail(self.wanted[k], k), keys))
        total = 0
        for key, uri in zip(keys, uris, strict=True):
            total += len(uri)
            if total > self.max_bytes:
                break
            self.made[key] = uri

    def get(self, key: str) -> str | None:
        """The data URI of a made thumbnail (None: left out)."""
        return self.made.get(key)
