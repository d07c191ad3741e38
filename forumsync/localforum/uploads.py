"""Uploads: stored once per content (SHA1), and the cooker's lookup of ``upload://`` links."""
from __future__ import annotations

import hashlib
import re
from typing import Callable

from sqlalchemy import select

from . import sitesettings
from .cooking import cook
from .errors import ApiError
from .models import Upload, User
from .serialize_uploads import sha1_from_base62, upload_url


def create_upload(session, user: User | None, filename: str, data: bytes,
                  content_type: str | None = None) -> Upload:
    max_kb = sitesettings.get(session, "max_attachment_size_kb")
    if len(data) > max_kb * 1024:
        raise ApiError(422, [f"Désolé, le fichier que vous essayez d'envoyer est trop volumineux "
                             f"(la taille maximale est de {max_kb} Ko)."])
    sha1 = hashlib.sha1(data).hexdigest()
    existing = session.scalar(select(Upload).where(Upload.sha1 == sha1))
    if existing is not None:
        return existing
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    upload = Upload(sha1=sha1, user_id=user.id if user else None, original_filename=filename,
                    content_type=content_type or "application/octet-stream",
                    extension=re.sub(r"[^a-z0-9]", "", extension)[:20] or "bin", data=data)
    session.add(upload)
    session.flush()
    return upload


def resolve_upload(session) -> Callable[[str], str | None]:
    def resolve(short: str) -> str | None:
        sha1 = sha1_from_base62(short)
        upload = session.scalar(select(Upload).where(Upload.sha1 == sha1)) if sha1 else None
        return upload_url(upload) if upload else None
    return resolve


def cook_for(session, raw: str, user: User | None = None) -> str:
    """RAW cooked as Discourse's Post#cook does it for a post USER last edited (None: the
    system user): uploads resolved, hashtags looked up with USER's guardian."""
    from .hashtags import lookup_for

    return cook(raw, resolve_upload(session), lookup_for(session, user))

