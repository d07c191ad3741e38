"""Look-alike keys of a name: the order of its words, a civility or run-together words do not
make another person (red-team pass 12)."""
from forumsync.pipeline.members import name_keys


def test_reordered_civil_and_joined_names_share_a_key_with_the_name():
    member = name_keys("Marie Dupont")
    for claimed in ("DUPONT Marie", "Mme Marie Dupont", "MarieDupont", "dupont.marie", "M. Marie Dupont"):
        assert name_keys(claimed) & member, claimed
    for other in ("Marie Durand", "Dupont", "Marie"):
        assert not name_keys(other) & member, other


def test_a_one_word_name_keeps_its_word_even_when_it_is_a_civility():
    assert name_keys("Me") == {"me"}
