"""French grammar of the texts people read: « d'Anne » (not « de Anne »), « 1 écrit »."""
from forumsync.mail.french import de, plural
from forumsync.pipeline.author import attribution
from forumsync.settings import Settings


def test_elision_before_vowels_and_mute_h():
    assert de("Anne") == "d'Anne"
    assert de("Émilie") == "d'Émilie"
    assert de("Hélène Roux") == "d'Hélène Roux"
    assert de("Marie") == "de Marie"
    assert de("Yves") == "d'Yves"


def test_plural_is_singular_below_two():
    assert [plural(n, "écrit") for n in (0, 1, 2)] == ["écrit", "écrit", "écrits"]
    assert plural(3, "venu de la liste", "venus de la liste") == "venus de la liste"


def test_attribution_line_elides():
    settings = Settings({})
    line = attribution(settings, {"from_name": "Anne Leroy", "from_email": "anne.leroy@gmail.com"})
    assert line.startswith("*Message d'Anne Leroy transmis depuis la liste"), line
    line = attribution(settings, {"from_name": "Paul", "from_email": "paul@gmail.com"})
    assert line.startswith("*Message de Paul transmis"), line
