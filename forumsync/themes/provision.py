"""Make the forum match the themes of the settings (categories, lead groups, moderation).

mailman2discourse style, in three steps: ``forum_state.read_actual`` reads the forum,
``plan.plan(desired, actual)`` lists the typed changes without I/O, ``apply.apply`` makes
exactly the write calls they need, so a second run writes nothing. A dry run stops after
planning.

What we last applied is remembered in a StateValue (``themes.provision``): it maps each theme
to its category id (so a renamed theme renames its category) and tells a settings change
(desired ≠ last applied: applied) from a hand edit on the forum (actual ≠ last applied =
desired: a drift, « dérive », reported and only repaired with ``repair=True``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..models import get_state, set_state
from .apply import Progress, apply
from .changes import Change
from .desired import desired_state
from .forum_state import read_actual
from .plan import plan

STATE_KEY = "themes.provision"
__all__ = ["STATE_KEY", "Change", "ProvisionResult",
           "provision", "category_id_for_theme"]


@dataclass
class ProvisionResult:
    changes: list[Change]                    # every difference found
    applied: list[Change]                    # those applied (none in a dry run)
    missing_accounts: list[tuple[str, str]]  # (theme slug, lead email) with no forum account
    warnings: list[str]
    before: dict
    after: dict
    dry_run: bool
    repair: bool

    @property
    def drift(self) -> list[Change]:
        return [c for c in self.changes if c.drift]

    @property
    def pending_drift(self) -> list[Change]:
        return [c for c in self.drift if c not in self.applied]

    def report(self) -> list[str]:
        """The French diff and notes, one line each (the caller prints them)."""
        lines = []
        if not self.changes:
            lines.append("Le forum est déjà conforme aux thèmes des réglages.")
        else:
            title = ("Modifications prévues (essai, rien n'est écrit) :" if self.dry_run
                     else "Modifications :")
            lines.append(title)
            for change in self.changes:
                mark = ""
                if change.drift and not self.repair:
                    mark = " (non réparée : relancer avec --repair)"
                elif not self.dry_run and change in self.applied:
                    mark = " ✓"
                lines.append(f"  - {change.describe()}{mark}")
        for slug, email in self.missing_accounts:
            lines.append(f"Compte absent du forum (thème {slug}) : {email} — non créé, "
                         f"à inviter puis relancer « forumsync provision ».")
        for warning in self.warnings:
            lines.append(f"Attention : {warning}")
        return lines


def provision(ctx, *, dry_run: bool = False, repair: bool = False,
              progress: Progress | None = None) -> ProvisionResult:
    """Compare the forum with the themes of the settings and (unless DRY_RUN) fix it.

    Returns the changes with their (before, after); a second run finds none. PROGRESS, when
    given, is called as progress(apply.STAGE_CHANGES, done, total) while changes are applied."""
    with ctx.db.session() as session:
        memory = get_state(session, STATE_KEY, None) or {"parent": {}, "themes": {}}
    desired = desired_state(ctx.settings)
    actual = read_actual(ctx.forum, desired, memory)
    planned = plan(desired, actual, repair=repair, dry_run=dry_run)
    applied: list[Change] = []
    if not dry_run:
        applied = apply(ctx.forum, planned, progress)
        with ctx.db.session() as session:
            set_state(session, STATE_KEY, planned.memory)
    return ProvisionResult(changes=planned.changes, applied=applied,
                           missing_accounts=planned.missing_accounts, warnings=planned.warnings,
                           before=planned.before, after=planned.after, dry_run=dry_run,
                           repair=repair)


def category_id_for_theme(ctx, slug: str) -> int | None:
    """The forum category of theme SLUG as provisioning last recorded it (no forum call)."""
    with ctx.db.session() as session:
        state = get_state(session, STATE_KEY, None) or {}
    return ((state.get("themes") or {}).get(slug) or {}).get("category_id")
