"""smtp.connect/send against real aiosmtpd servers: STARTTLS, AUTH, SMTPS, refusals."""
import smtplib
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from forumsync.outbound import smtp
from forumsync.settings import Settings
from tests.fixtures.database import free_port


class Box:
    def __init__(self):
        self.messages = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content,
                              session.ssl is not None))
        return "250 OK"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        ok = auth_data.login == b"passerelle" and auth_data.password == b"s3cret"
        return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def conf(tmp_path, **values):
    return Settings(values, "<t>", tmp_path)


RAW = b"From: a@b.fr\r\nTo: club@listes.example.org\r\nSubject: essai\r\n\r\ncorps\r\n"


def test_starttls_and_auth(tmp_path, certificate, monkeypatch):
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust our test CA through the default context
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Box()
    port = free_port()
    server = Controller(box, hostname="127.0.0.1", port=port, tls_context=context,
                        require_starttls=True, authenticator=box.authenticator, auth_required=True,
                        auth_exclude_mechanism=["LOGIN"])
    server.start()
    try:
        good = conf(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}", SMTP_STARTTLS=True,
                    SMTP_USERNAME="passerelle", SMTP_PASSWORD="s3cret")
        smtp.send(good, "bistro@forumsync.example.org", ["club@listes.example.org"], RAW)
        assert len(box.messages) == 1 and box.messages[0][3] is True  # over TLS
        assert box.logins == [("passerelle", "s3cret")]
        # without STARTTLS the server offers no AUTH: nothing is sent (kept for retry)
        plain = conf(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}", SMTP_USERNAME="passerelle",
                     SMTP_PASSWORD="s3cret")
        with pytest.raises(smtplib.SMTPNotSupportedError):  # no AUTH before TLS
            smtp.send(plain, "bistro@forumsync.example.org", ["club@listes.example.org"], RAW)
        assert len(box.messages) == 1
    finally:
        server.stop()


def test_starttls_refuses_an_untrusted_certificate(tmp_path, certificate, monkeypatch):
    cert, key = certificate
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Box()
    port = free_port()
    server = Controller(box, hostname="127.0.0.1", port=port, tls_context=context,
                        require_starttls=True)
    server.start()
    try:
        settings = conf(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}", SMTP_STARTTLS=True)
        with pytest.raises(ssl.SSLError):
            smtp.send(settings, "bistro@forumsync.example.org", ["club@listes.example.org"], RAW)
        assert box.messages == []
    finally:
        server.stop()


def test_permanent_recipient_refusal(tmp_path):
    class Refusing(Box):
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 Inconnu"

    box = Refusing()
    port = free_port()
    server = Controller(box, hostname="127.0.0.1", port=port)
    server.start()
    try:
        settings = conf(tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}")
        with pytest.raises(smtp.PermanentFailure) as info:
            smtp.send(settings, "bistro@forumsync.example.org", ["personne@example.org"], RAW)
        assert "550" in str(info.value)
    finally:
        server.stop()
