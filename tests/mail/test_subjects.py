"""Topic titles: list tag, theme tags, reply/forward chains, spam prefixes, empty subjects."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forumsync.mail.subjects import EMPTY_TITLE, clean_subject, fold, subject_chain, subject_key

TAG = "[club-publik]"


@pytest.mark.parametrize("subject, title, tags", [
    ("[club-publik] Question sur la SVE", "Question sur la SVE", []),
    ("Re: [club-publik] Question sur la SVE", "Question sur la SVE", []),
    ("RE : [club-publik] Question", "Question", []),
    ("RE\u00a0: TR\u202f: [club-publik] Question", "Question", []),
    ("[club-publik] Re: Fwd: Question", "Question", []),
    ("TR: Fw: FWD: Question", "Question", []),
    ("Réf. : REF: Réf: Question", "Question", []),
    ("AW: WG: SV: Antw: VS: Question", "Question", []),
    ("Re[2]: RE(3): Question", "Question", []),
    ("re: re: RE: Re : Question", "Question", []),
    ("[SPAM] Re: [club-publik] Question", "Question", []),
    ("***SPAM*** [EXT] Question", "Question", []),
    ("[CLUB-PUBLIK] [SVE] Question", "Question", ["SVE"]),
    ("Re: [club-publik] [OPENDATA][Famille] Données", "Données", ["OPENDATA", "Famille"]),
    ("[club-publik] Re: [SVE] Re: [SVE] Délais", "Délais", ["SVE"]),
    ("Question (fwd)", "Question", []),
    ("RE: Absence de connecteur", "Absence de connecteur", []),
    ("Retour d'expérience", "Retour d'expérience", []),  # "Re" inside a word stays
    ("Trésorerie : budget", "Trésorerie : budget", []),
    ("", EMPTY_TITLE, []),
    (None, EMPTY_TITLE, []),
    ("[club-publik]", EMPTY_TITLE, []),
    ("Re: ", EMPTY_TITLE, []),
    ("  plusieurs    espaces\t ici ", "plusieurs espaces ici", []),
    ("Re:\x00 bizarre\x1b\u200b sujet\ufeff", "bizarre sujet", []),
])
def test_clean_subject(subject, title, tags):
    assert clean_subject(subject, TAG) == (title, tags)


def test_clean_subject_without_list_tag_setting():
    assert clean_subject("[club-publik] Question", None) == ("Question", ["club-publik"])


def test_long_titles_are_cut():
    title, _ = clean_subject("x" * 400, TAG)
    assert len(title) <= 255 and title.endswith("…")


def test_subject_key_folds_case_accents_and_punctuation():
    assert subject_key("Réunion du CLUB : ordre du jour !") == "reunion du club ordre du jour"
    assert subject_key(clean_subject("RE: [club-publik] Été – Sécurité", TAG)[0]) == \
        subject_key(clean_subject("[club-publik] ete securite", TAG)[0])
    assert fold("Périscolaire ŒUVRE") == "periscolaire œuvre"


def test_testdata_titles(understand):
    assert understand("outlook-fr-reply.eml", upto="parse")["title"] == \
        "Question sur la saisine par voie électronique"
    data = understand("outlook-web-divrplyfwdmsg.eml", upto="parse")
    assert (data["title"], data["subject_tags"]) == ("Export des démarches", ["OPENDATA"])


@given(st.text(max_size=300))
def test_titles_are_never_empty_nor_too_long(subject):
    title, tags = clean_subject(subject, TAG)
    assert title.strip() and len(title) <= 255 and title == title.strip(" -:")
    assert not any(ord(ch) < 32 for ch in title)
    assert all(isinstance(t, str) and t for t in tags)


NB, NNB = "\u00a0", "\u202f"


@pytest.mark.parametrize("subject, prefixes, reply, forward, tag_after_forward", [
    # Outlook's forward of a list reply: forward prefix first, non-breaking space before the colon
    (f"TR{NB}: RE: [club-publik] Connecteur Pastell", ("forward", "reply"), True, True, True),
    (f"TR{NNB}: RE{NNB}: Question", ("forward", "reply"), True, True, False),
    ("Fwd: Re: [club-publik] Question", ("forward", "reply"), True, True, True),
    ("RE : TR: Question", ("reply", "forward"), True, False, False),
    ("[club-publik] TR : Re: Question", ("forward", "reply"), True, True, False),
    ("Réf. : Question", ("reply",), True, False, False),
    (f"Rép.{NB}: Question", ("reply",), True, False, False),
    ("R: Question", ("reply",), True, False, False),
    ("AW: WG: Frage", ("reply", "forward"), True, False, False),
    ("Re[2]: Question", ("reply",), True, False, False),
    # forwards only
    ("TR: Nouvelle version du connecteur", ("forward",), False, True, False),
    ("Fwd: [club-publik] Question", ("forward",), False, True, True),   # forwarded list mail
    ("[club-publik] TR : Question", ("forward",), False, True, False),  # tag added by the list
    ("Fw: [SPAM] Question", ("forward",), False, True, False),
    ("Transf. : Question", ("forward",), False, True, False),
    # neither
    ("[club-publik] Question", (), False, False, False),
    ("Tribune : Question", (), False, False, False),
    ("Retour d'expérience", (), False, False, False),
    ("Trésorerie : budget", (), False, False, False),
    ("", (), False, False, False),
    (None, (), False, False, False),
])
def test_subject_chain(subject, prefixes, reply, forward, tag_after_forward):
    chain = subject_chain(subject, TAG)
    assert chain.prefixes == prefixes
    assert (chain.is_reply, chain.is_forward, chain.tag_after_forward) == (reply, forward, tag_after_forward)


def test_forward_of_a_list_reply_has_the_title_of_the_thread(understand):
    data = understand("outlook-fr-tr-re-liste.eml", upto="parse")
    assert data["title"] == "Connecteur Pastell : retour d'expérience"
    assert data["subject_key"] == subject_key(clean_subject("[club-publik] Connecteur Pastell : retour "
                                                           "d'expérience", TAG)[0])


@given(st.text(max_size=200))
def test_chains_never_fail(subject):
    chain = subject_chain(subject, TAG)
    assert set(chain.prefixes) <= {"reply", "forward"}
    assert chain.is_reply == ("reply" in chain.prefixes)


def test_undecorated_title_removes_only_forumsyncs_suffixes():
    from datetime import datetime

    from forumsync.mail.subjects import decorated_title, undecorated_title

    when = datetime(2026, 12, 7, 13, 1)
    once = decorated_title("Portail GRU", "Club Publik", when, taken=False)
    twice = decorated_title(once, "Club Publik", when, taken=True)
    assert once == "Portail GRU (Club Publik, 07/12/2026)"
    assert twice == "Portail GRU (Club Publik, 07/12/2026) (Club Publik, 07/12/2026 13:01)"
    assert undecorated_title(twice, "Club Publik") == "Portail GRU"
    # another list's name, another shape, or nothing left: the title as it is
    assert undecorated_title("Portail GRU (Autre liste, 07/12/2026)", "Club Publik").endswith("2026)")
    assert undecorated_title("Réunion (Club Publik, décembre)", "Club Publik") == "Réunion (Club Publik, décembre)"
    assert undecorated_title(" (Club Publik, 07/12/2026)", "Club Publik") == " (Club Publik, 07/12/2026)"
