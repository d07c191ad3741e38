"""The README's migration list names every Alembic revision, its demo/ops sections point at
what exists (docs/deploy.md, the demo's settings file and --ports option), and the dashboard
buttons it names are the dashboard's."""
import re

from forumsync.commands.demo import demo
from tests.deploy.guide import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_migration():
    versions = sorted(p.name[:4] for p in (ROOT / "forumsync" / "migrations" / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    section = README.split("## Migrations", 1)[1]
    listed = re.findall(r"^- `(\d{4})` : ", section, flags=re.M)
    assert listed == versions, f"README liste {listed}, le dépôt a {versions}"


def test_readme_points_at_the_deployment_guide_and_demo_options():
    assert "docs/deploy.md" in README and (ROOT / "docs" / "deploy.md").exists()
    assert "var/demo/settings.py" in README
    assert "--ports" in README and any("--ports" in p.opts for p in demo.params)


def test_readme_names_the_dashboards_buttons():
    template = (ROOT / "forumsync" / "web" / "templates" / "dashboard" / "index.html").read_text(encoding="utf-8")
    buttons = set(re.findall(r"<button[^>]*>\s*([^<]+?)\s*</button>", template))
    named = re.search(r"boutons ((?:« [^»]+ »/?)+)", README)
    assert named, "README : phrase « boutons « … »/« … » » du tableau de bord introuvable"
    listed = re.findall(r"« ([^»]+) »", named.group(1))
    assert listed and set(listed) <= buttons, f"README nomme {listed}, le tableau de bord a {sorted(buttons)}"
