"""``draft.fitted`` on titles (53rd pass): whatever a subject holds (capitals, « !!! », final
periods, emoji, emoticons, long words, letter numbers, decomposed accents), the title it
writes for the problems foreseen is one the forum's title validators take as the forum will
store it (TextCleaner.clean_title): length, TextSentinel, MaxEmojisValidator, as the local
forum applies them."""
from datetime import datetime

from hypothesis import HealthCheck, example, given, settings, strategies as st

from forumsync.forum.refusals import TITLE_EMOJI, TITLE_LONG, TITLE_SHORT, TITLE_UNCLEAR
from forumsync.pipeline import draft
from forumsync.title_form import EMOJI_SETTINGS, emoji_count, stored_title, title_sentinel

WORDS = ["réunion", "RÉUNION", "été", "ÉTÉ", "Club", "!!!", "???", "...", ".", "🎉", "👍🏽", "🇫🇷",
         ":)", ":pizza:", "Re:", "[Club]", "anticonstitutionnellementXXXXXXXXXX", "Ⅻ", "e\u0301",
         "A", "de", "la", "sortie", "SORTIE", "2026", "«", "»", "ß", "œuvre", " ", "\u00a0"]


def _problems(title, rules, limits):
    """What ``post_limits.foreseen`` finds, with these settings."""
    cleaned = stored_title(title, rules).strip()
    problems = set()
    if len(cleaned) < rules["min_topic_title_length"]:
        problems.add(TITLE_SHORT)
    if cleaned and not title_sentinel(cleaned, rules).valid():
        problems.add(TITLE_UNCLEAR)
    if len(cleaned) > limits["max_topic_title_length"]:
        problems.add(TITLE_LONG)
    if emoji_count(cleaned, limits) > limits["max_emojis_in_title"]:
        problems.add(TITLE_EMOJI)
    return problems


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=40), st.booleans(),
       st.sampled_from([0, 1, 3]), st.sampled_from([40, 255]))
@example(["🎉"], False, 0, 40)  # emoji only: « (sans objet) », decorated
@example(["réunion", "réunion", "🎉"], False, 0, 40)  # fewer emoji, fewer distinct bytes
@example(["ß", "réunion", "réunion"], True, 0, 40)  # « ß » capitalised is « Ss »: one more
@example(["RÉUNION"] * 5 + ["réunion"], False, 0, 40)  # the cut leaves capitals only
def test_the_fitted_title_is_one_the_forum_takes(words, prettify, max_emojis, max_length):
    title = " ".join(words).strip()
    rules = {"title_prettify": prettify, "allow_uppercase_posts": False,
             "title_remove_extraneous_space": False, "min_topic_title_length": 15,
             "title_min_entropy": 10, "title_max_word_length": 30}
    limits = {**EMOJI_SETTINGS, "max_topic_title_length": max_length, "max_emojis_in_title": max_emojis}
    composed = draft.Draft("Un texte assez long pour le forum.", title=title)
    fitted = draft.fitted(composed, {}, _problems(title, rules, limits), list_name="Club Publik",
                          when=datetime(2026, 3, 2), max_chars=30000, title_rules=rules,
                          title_limits=limits)
    stored = stored_title(fitted.title, rules).strip()
    assert 15 <= len(stored) <= max_length, fitted.title
    assert title_sentinel(stored, rules).valid(), fitted.title
    assert emoji_count(stored, limits) <= max_emojis, fitted.title
