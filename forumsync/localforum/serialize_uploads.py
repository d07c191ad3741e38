"""Uploads as Discourse names and shows them: base-62 short names, URLs, sizes."""
from __future__ import annotations

from . import shapes
from .models import Upload
from .serialize_common import fill

BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def base62_sha1(sha1: str) -> str:
    """Discourse's short upload name: the SHA1 as a base-62 number."""
    number = int(sha1, 16)
    out = ""
    while number:
        number, rem = divmod(number, 62)
        out = BASE62[rem] + out
    return out or "0"


def sha1_from_base62(short: str) -> str | None:
    number = 0
    for char in short:
        index = BASE62.find(char)
        if index < 0:
            return None
        number = number * 62 + index
    return f"{number:040x}"


def upload_url(upload: Upload) -> str:
    return f"/uploads/default/original/1X/{upload.sha1}.{upload.extension}"


def upload_short_url(upload: Upload) -> str:
    return f"upload://{base62_sha1(upload.sha1)}.{upload.extension}"


def human_size(size: int) -> str:
    for unit in ("Bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "Bytes" else f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    return str(size)


def serialize_upload(upload: Upload) -> dict:
    return fill(shapes.UPLOAD, {
        "id": upload.id, "url": upload_url(upload), "original_filename": upload.original_filename,
        "filesize": len(upload.data), "width": 0, "height": 0, "thumbnail_width": 0,
        "thumbnail_height": 0, "extension": upload.extension, "short_url": upload_short_url(upload),
        "short_path": f"/uploads/short-url/{base62_sha1(upload.sha1)}.{upload.extension}",
        "retain_hours": None, "human_filesize": human_size(len(upload.data)),
    })

