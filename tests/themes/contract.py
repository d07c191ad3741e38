"""Reading and checking the plugin's contract fixtures (plugin/spec/fixtures/contract/)."""
from __future__ import annotations

import json
from datetime import datetime

from tests.conftest import ROOT

CONTRACT_DIR = ROOT / "plugin" / "spec" / "fixtures" / "contract"


def load(name: str) -> dict:
    return json.loads((CONTRACT_DIR / f"{name}.json").read_text(encoding="utf-8"))


def case(name: str, case_name: str) -> dict:
    return next(c for c in load(name)["cases"] if c["name"] == case_name)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def type_matches(value, spec: str) -> bool:
    for kind in spec.split("|"):
        if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind == "string" and isinstance(value, str):
            return True
        if kind == "boolean" and isinstance(value, bool):
            return True
        if kind == "array" and isinstance(value, list):
            return True
        if kind == "object" and isinstance(value, dict):
            return True
        if kind == "null" and value is None:
            return True
        if kind == "datetime" and isinstance(value, str):
            try:
                _instant(value)
                return True
            except ValueError:
                pass
        if kind not in ("integer", "string", "boolean", "array", "object", "null", "datetime"):
            raise ValueError(f"unknown contract type {kind}")
    return False


def resolve(value, bodies: dict, variables: dict):
    """"$category_id" → VARIABLES; "$case.key" → that key of an earlier response body."""
    if not (isinstance(value, str) and value.startswith("$")):
        return value
    name = value[1:]
    if name in variables:
        return variables[name]
    case_name, key = name.split(".", 1)
    return bodies[case_name][key]


def check_response(status: int, body, expected: dict, bodies: dict, variables: dict,
                   where: str = "") -> list[str]:
    """Mismatches between a response and a contract `response` (empty when it conforms)."""
    problems = []
    if status != expected["status"]:
        problems.append(f"{where}: status {status} != {expected['status']} ({body})")
        return problems
    for key, spec in expected.get("required", {}).items():
        if not isinstance(body, dict) or key not in body:
            problems.append(f"{where}: key {key!r} missing")
        elif not type_matches(body[key], spec):
            problems.append(f"{where}: {key}={body[key]!r} is not {spec}")
    for key, want in expected.get("values", {}).items():
        want = resolve(want, bodies, variables)
        have = body.get(key) if isinstance(body, dict) else None
        if expected.get("required", {}).get(key) == "datetime":
            if have is None or _instant(have) != _instant(want):
                problems.append(f"{where}: {key}={have!r} != {want!r}")
        elif have != want:
            problems.append(f"{where}: {key}={have!r} != {want!r}")
    return problems
