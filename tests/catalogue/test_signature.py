"""Publik signed URLs: a known vector, and the w.c.s. test server's checks over HTTP."""
import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, quote

import pytest
import requests

from forumsync.catalogue.sources import SourceError
from forumsync.catalogue.sources.wcs_api import WcsApiSource, sign_query, sign_url

WHEN = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)


def test_known_vector():
    # computed outside Python from the spec text:
    # printf '%s' 'include-count=on&orig=bistro&algo=sha256&timestamp=2026-11-28T12%3A00%3A00Z&nonce=0123456789abcdef' \
    #   | openssl dgst -sha256 -hmac 's3cr3t' -binary | base64
    signed = sign_query("include-count=on", "bistro", "s3cr3t", timestamp=WHEN,
                        nonce="0123456789abcdef")
    assert signed == ("include-count=on&orig=bistro&algo=sha256"
                      "&timestamp=2026-11-28T12%3A00%3A00Z&nonce=0123456789abcdef"
                      "&signature=NeIxAQ5R4BvDc%2BjKaZSCjJzXd8tRoFBnEB9NgCMcxaI%3D")
    # and the same, recomputed here step by step from the spec text
    unsigned = signed.split("&signature=")[0]
    digest = hmac.new(b"s3cr3t", unsigned.encode(), hashlib.sha256).digest()
    assert signed.endswith("&signature=" + quote(base64.b64encode(digest)))


def test_signature_is_last_and_nonce_is_fresh_random_hex():
    one = sign_url("https://wcs.example/api/formdefs/", "bistro", "k")
    two = sign_url("https://wcs.example/api/formdefs/", "bistro", "k")
    assert one.split("?", 1)[1].split("&")[-1].startswith("signature=")
    n1, n2 = parse_qs(one.split("?", 1)[1])["nonce"][0], parse_qs(two.split("?", 1)[1])["nonce"][0]
    assert n1 != n2 and int(n1, 16) >= 0 and len(n1) >= 16
    stamp = parse_qs(one.split("?", 1)[1])["timestamp"][0]
    assert abs(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
               - datetime.now(timezone.utc)) < timedelta(seconds=5)


@pytest.fixture
def instance(wcs_server):
    inst = wcs_server.add_instance("meyzieu", "Meyzieu", orig="bistro", key="cle-secrete")
    wcs_server.add_form("meyzieu", "acte-naissance", "Demande d'acte de naissance")
    return inst


def get(wcs_server, query, path="/meyzieu/api/formdefs/"):
    return requests.get(f"{wcs_server.url}{path}?{query}", timeout=5)


def test_server_accepts_a_good_signature_and_refuses_a_replayed_nonce(wcs_server, instance):
    query = sign_query("", "bistro", "cle-secrete")
    first = get(wcs_server, query)
    assert first.status_code == 200 and first.json()["err"] == 0
    replay = get(wcs_server, query)
    assert replay.status_code == 403
    assert replay.json() == {"err": 1, "err_class": "access denied",
                             "err_desc": "nonce already used"}


@pytest.mark.parametrize("skew, status", [(25, 200), (-25, 200), (40, 403), (-40, 403)])
def test_server_allows_30_seconds_of_clock_skew(wcs_server, instance, skew, status):
    when = datetime.now(timezone.utc) + timedelta(seconds=skew)
    response = get(wcs_server, sign_query("", "bistro", "cle-secrete", timestamp=when))
    assert response.status_code == status
    if status == 403:
        assert response.json()["err_desc"] == "timestamp out of range"


@pytest.mark.parametrize("orig, key, reason", [("bistro", "mauvaise-cle", "invalid signature"),
                                               ("inconnu", "cle-secrete", "unknown orig")])
def test_server_refuses_wrong_orig_or_key(wcs_server, instance, orig, key, reason):
    response = get(wcs_server, sign_query("", orig, key))
    assert response.status_code == 403
    assert response.json()["err"] == 1 and response.json()["err_desc"] == reason
    unsigned = get(wcs_server, "orig=bistro")
    assert unsigned.status_code == 403


def test_tampered_query_is_refused(wcs_server, instance):
    query = sign_query("include-count=on", "bistro", "cle-secrete")
    response = get(wcs_server, query.replace("include-count=on", "include-count=off"))
    assert response.status_code == 403 and response.json()["err_desc"] == "invalid signature"


def test_source_reports_refusals_in_french(wcs_server, instance):
    source = wcs_server.source("meyzieu", key="mauvaise-cle")
    with pytest.raises(SourceError, match="accès refusé .*invalid signature"):
        WcsApiSource(source).fetch()


def test_source_signs_every_request_afresh_and_reads_all_endpoints(wcs_server, instance):
    demarches = WcsApiSource(wcs_server.source("meyzieu")).fetch()
    assert [d.slug for d in demarches] == ["acte-naissance"]
    paths = [path for _inst, path, status in wcs_server.requests if status == 200]
    assert paths == ["/meyzieu/api/categories/", "/meyzieu/api/formdefs/",
                     "/meyzieu/api/formdefs/acte-naissance/schema",
                     "/meyzieu/api/export-import/forms/acte-naissance/"]
    assert len(wcs_server.nonces) == 4
