"""Red team, 44th pass: a theme description written with French typography (a no-break
space before ":") is stored by Discourse (and the local forum) with a plain space; provision
compared the About post with the description as written: a drift on every run that
``--repair`` could not clear."""
import pytest

from tests.themes.test_provision import runner  # noqa: F401  (fixture)

pytestmark = pytest.mark.admin_api_limit(600)


def test_a_no_break_space_in_a_description_is_no_change_on_the_next_run(runner):  # noqa: F811
    themes = runner.settings().THEMES
    runner.overrides = {"THEMES": [dict(t, description="Saisine\u00a0: démarches") if t["slug"] == "sve"
                                   else t for t in themes]}
    runner.run()
    result, _writes, _received = runner.run()
    assert [c.field for c in result.changes] == [], result.report()
