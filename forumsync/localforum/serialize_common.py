"""What every serializer shares: Discourse's timestamp format, filling a shape, the letter
avatar and the small user object."""
from __future__ import annotations

import copy
import hashlib
from datetime import datetime

from .models import User

AUTOMATIC_GROUPS = {0: "everyone", 1: "admins", 2: "moderators", 3: "staff",
                    10: "trust_level_0", 11: "trust_level_1", 12: "trust_level_2",
                    13: "trust_level_3", 14: "trust_level_4"}


def iso(value: datetime | None) -> str | None:
    """Discourse's timestamp format: 2024-05-01T12:00:00.000Z (UTC)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def fill(shape: dict, values: dict) -> dict:
    """A deep copy of SHAPE with the VALUES of its own keys (other values are ignored)."""
    out = copy.deepcopy(shape)
    for key in out:
        if key in values:
            out[key] = values[key]
    return out


def avatar_template(user: User) -> str:
    letter = (user.username[:1] or "x").lower()
    color = hashlib.md5(user.username.encode()).hexdigest()[:6]
    return f"/letter_avatar_proxy/v4/letter/{letter}/{color}/{{size}}.png"


def user_basic(user: User) -> dict:
    return {"id": user.id, "username": user.username, "name": user.name or "",
            "avatar_template": avatar_template(user)}

