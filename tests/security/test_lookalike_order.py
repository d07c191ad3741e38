"""Red-team pass 12: a member's name written in another order, with a civility, or run together, and
the theme leads' own title, are shown without « (adresse non vérifiée) ».

``members.borrowed_name`` compares ``lookalike.skeleton`` keys of the whole name (and of the
name without a suffix): « DUPONT Marie » (the surname-first order of French administrative
mail and of many Outlook address books), « Mme Marie Dupont » or « MarieDupont » give other
keys than « Marie Dupont ». ``members.claims_a_role`` knows admin/modérat…/staff… but not the
role forumsync itself gives theme leads: « animateur/animatrice », group ``animateurs-<slug>``."""
from __future__ import annotations

import pytest

from tests.fixtures.pipeline import make_mail
from tests.security.service import Service  # noqa: F401
from tests.security.test_authors import _poster, checked  # noqa: F401


@pytest.mark.parametrize("sender", [
    "DUPONT Marie <md1@evil.example>",
    "Dupont Marie <md2@evil.example>",
    "Mme Marie Dupont <md3@evil.example>",
    "MarieDupont <md4@evil.example>",
    "<dupont.marie@evil.example>",
    "Animatrice SVE <an1@evil.example>",
    "animateurs-sve <an2@evil.example>",
])
def test_a_members_name_reordered_or_a_lead_title_is_marked(checked, sender):
    row = checked.deliver(make_mail("Bonjour", "Texte\n", sender=sender))
    assert row.state == "published", row.reason
    username, name, raw = _poster(checked, row)
    shown = name if username != checked.ctx.settings.FORUM_API_USERNAME else raw.splitlines()[0]
    assert "(adresse non vérifiée)" in shown, (username, name)
