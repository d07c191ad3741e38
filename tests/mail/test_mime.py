"""Content-Type reads that never raise."""
from forumsync.mail import parse_bytes
from forumsync.mail.mime import content_type, param


def test_content_type_and_params():
    msg = parse_bytes(b'Content-Type: TEXT/Plain; charset="ISO-8859-1"; format=flowed;\n delsp=yes\n\nx')
    assert content_type(msg) == "text/plain"
    assert (param(msg, "charset"), param(msg, "format"), param(msg, "delsp")) == ("ISO-8859-1", "flowed", "yes")
    assert param(msg, "absent") == ""


def test_rfc2231_continuations():
    msg = parse_bytes(b"Content-Type: application/pdf\nContent-Disposition: attachment;\n"
                      b" filename*0*=utf-8''proc%C3%A9; filename*1=dure.pdf\n\nx")
    assert param(msg, "filename", "Content-Disposition") == "procédure.pdf"


def test_defaults_for_missing_or_invalid_types():
    assert content_type(parse_bytes(b"Subject: x\n\nbody")) == "text/plain"
    assert content_type(parse_bytes(b"Content-Type: garbage\n\nbody")) == "text/plain"
    assert content_type(parse_bytes(b"Content-Type: /\n\nbody")) == "text/plain"
