"""Charset fallbacks: declared first, then utf-8, cp1252, latin-1."""
import pytest

from forumsync.mail.charsets import codec_for, decode_bytes, unescape_surrogates


@pytest.mark.parametrize("label, codec", [
    ("utf8", "utf-8"), ("UTF-8", "utf-8"), ("windows-1252", "cp1252"), ("iso-8859-1", "cp1252"),
    ("x-unknown", None), ("unknown-8bit", None), ("", None), (None, None), ("bogus-charset", None),
    ("koi8-r", "koi8-r"), ('"iso-8859-15"', "iso8859-15"),
])
def test_codec_for(label, codec):
    assert codec_for(label) == codec


@pytest.mark.parametrize("data, declared, expected", [
    ("été".encode("utf-8"), "utf-8", "été"),
    ("été".encode("utf-8"), "iso-8859-1", "été"),       # mislabelled utf-8
    ("l’été 2 €".encode("cp1252"), "iso-8859-1", "l’été 2 €"),  # cp1252 labelled latin-1
    ("été".encode("latin-1"), "x-unknown", "été"),
    ("été".encode("latin-1"), None, "été"),
    ("привет".encode("koi8-r"), "koi8-r", "привет"),
    (b"\x81\x8d\x8f", "utf-8", "\x81\x8d\x8f"),        # undecodable anywhere but latin-1
])
def test_decode_bytes(data, declared, expected):
    assert decode_bytes(data, declared) == expected


def test_unescape_surrogates():
    assert unescape_surrogates("caf\udce9") == "café"
    assert unescape_surrogates("caf\udcc3\udca9") == "café"
    assert unescape_surrogates("plain") == "plain"
