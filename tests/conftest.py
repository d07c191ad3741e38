"""Shared fixtures; each area's fixtures live in tests/fixtures/<area>.py (loaded below)."""
import pkgutil
from pathlib import Path

import tests.fixtures as _fixtures

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

pytest_plugins = [f"tests.fixtures.{info.name}" for info in pkgutil.iter_modules(_fixtures.__path__)]
