"""The in-process transport (forumsync/testing/inprocess.py): requests reach a WSGI app with no
socket, and behave as they do over one (status, headers, bodies, cookies, redirects, uploads,
timeouts, a stopped server refusing)."""
from __future__ import annotations

import threading
import time

import pytest
import requests
from flask import Flask, redirect, request, session

from forumsync.testing import inprocess
from forumsync.testing.settings import free_port


@pytest.fixture
def little_app():
    """A real Flask app on an origin nothing listens on: only the in-process route reaches it."""
    app = Flask("little")
    app.config["SECRET_KEY"] = "s"

    @app.post("/echo")
    def echo():
        upload = request.files.get("file")
        return {"method": request.method, "args": request.args.to_dict(),
                "json": request.get_json(silent=True), "form": request.form.to_dict(),
                "file": upload.read().decode() if upload else None,
                "filename": upload.filename if upload else None,
                "host": request.host, "remote": request.remote_addr,
                "header": request.headers.get("X-Test")}

    @app.get("/login")
    def login():
        session["who"] = request.args["who"]
        return "ok"

    @app.get("/me")
    def me():
        return session.get("who", "personne")

    @app.get("/old")
    def old():
        return redirect("/me", 302)

    @app.get("/slow")
    def slow():
        time.sleep(float(request.args["s"]))
        return "fini"

    @app.get("/held")
    def held():
        app.config["held_running"].set()
        app.config["held_release"].wait(60)  # the test releases it (a clock-free slow answer)
        app.config["held_done"].set()
        return "fini"

    app.config.update(held_running=threading.Event(), held_release=threading.Event(),
                      held_done=threading.Event())

    @app.get("/bytes")
    def some_bytes():
        return bytes(range(256)) * 4, 201, {"Content-Type": "application/octet-stream",
                                            "X-Many": "1"}

    origin = f"http://127.0.0.1:{free_port()}"
    adapter = inprocess.route(origin, app)
    yield origin, adapter
    inprocess.unroute(origin)


def test_a_request_reaches_the_app_with_its_body_query_and_headers(little_app):
    origin, adapter = little_app
    answer = requests.post(f"{origin}/echo?a=1&b=%C3%A9", json={"titre": "Réunion"},
                           headers={"X-Test": "oui"}, timeout=30)
    assert answer.status_code == 200
    assert answer.json() == {"method": "POST", "args": {"a": "1", "b": "é"},
                             "json": {"titre": "Réunion"}, "form": {}, "file": None,
                             "filename": None, "host": origin.removeprefix("http://"),
                             "remote": "127.0.0.1", "header": "oui"}
    assert adapter.requests_served == 1


def test_forms_and_multipart_uploads_arrive_whole(little_app):
    origin, _ = little_app
    form = requests.post(f"{origin}/echo", data={"nom": "Dupré"}, timeout=30).json()
    assert form["form"] == {"nom": "Dupré"}
    upload = requests.post(f"{origin}/echo", files={"file": ("compte rendu.txt", "ligne é\n")},
                           data={"type": "composer"}, timeout=30).json()
    assert upload["file"] == "ligne é\n" and upload["filename"] == "compte rendu.txt"
    assert upload["form"] == {"type": "composer"}


def test_binary_answers_keep_their_bytes_status_and_headers(little_app):
    origin, _ = little_app
    answer = requests.get(f"{origin}/bytes", timeout=30)
    assert answer.status_code == 201
    assert answer.content == bytes(range(256)) * 4
    assert answer.headers["X-Many"] == "1"
    assert answer.headers["Content-Type"] == "application/octet-stream"


def test_a_session_keeps_cookies_and_follows_redirects(little_app):
    origin, _ = little_app
    client = requests.Session()
    assert client.get(f"{origin}/me", timeout=30).text == "personne"
    client.get(f"{origin}/login", params={"who": "marie"}, timeout=30)
    followed = client.get(f"{origin}/old", timeout=30)
    assert followed.text == "marie"
    assert [r.status_code for r in followed.history] == [302]


def test_a_slow_answer_is_a_read_timeout_as_on_a_socket(little_app):
    origin, adapter = little_app
    config = adapter.app.config
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{origin}/held", timeout=(1, 0.3))
    assert time.monotonic() - started >= 0.3
    # The caller gave up while the app was still answering (no wall-clock upper bound: the
    # app holds its answer until told, so this holds on any machine).
    assert config["held_running"].wait(30) and not config["held_done"].is_set()
    config["held_release"].set()
    assert config["held_done"].wait(30)  # the app finished on its own
    assert requests.get(f"{origin}/slow", params={"s": "0"}, timeout=30).text == "fini"


def test_an_unrouted_origin_goes_to_the_network_and_is_refused(little_app):
    origin, _ = little_app
    inprocess.unroute(origin)
    assert not inprocess.routed(origin)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{origin}/me", timeout=2)


def test_only_the_routed_origin_is_served_in_process(little_app):
    origin, adapter = little_app
    other = origin.rsplit(":", 1)[0] + f":{free_port()}"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{other}/me", timeout=2)
    assert adapter.requests_served == 0


def test_the_local_forum_is_served_in_process_and_on_its_socket_for_other_processes(make_localforum):
    forum = make_localforum()
    adapter = inprocess._routes[forum.url.lower()]
    client = forum.client()
    assert client.get_site_info()["categories"]  # pydiscourse, through requests
    assert adapter.requests_served == 1
    # another process (here: a raw socket, as a forumsync command or a browser would) still gets it
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", forum.server.server_port, timeout=30)
    connection.request("GET", "/site.json", headers=forum.headers())
    assert connection.getresponse().status == 200
    connection.close()
    assert adapter.requests_served == 1
    assert forum.requests.count_of("GET", "/site.json") == 2


@pytest.mark.forum_socket
def test_forum_socket_mark_keeps_this_process_on_the_socket(make_localforum):
    forum = make_localforum()
    assert not inprocess.routed(forum.url)
    assert forum.client().get_site_info()["categories"]
    assert forum.requests.count_of("GET", "/site.json") == 1


def test_a_stopped_forum_refuses_connections(make_localforum):
    forum = make_localforum()
    forum.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(forum.url + "/site.json", headers=forum.headers(), timeout=2)
