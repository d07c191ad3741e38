"""Cross-cutting behaviour: auth, content type, errors, rate limiting, fault injection."""
import time

import pytest
import requests
from pydiscourse import DiscourseClient
from pydiscourse.exceptions import DiscourseClientError

JSON_TYPE = "application/json; charset=utf-8"
FORBIDDEN = {"errors": ["You are not permitted to view the requested resource."],
             "error_type": "invalid_access"}


@pytest.mark.parametrize("headers", [{}, {"Api-Key": "wrong", "Api-Username": "system"},
                                     {"Api-Key": "test-api-key-0123456789",
                                      "Api-Username": "nobody"}])
def test_bad_credentials_are_403(localforum, headers):
    response = requests.get(localforum.url + "/categories.json", headers=headers, timeout=10)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json() == FORBIDDEN


def test_admin_key_acts_as_any_user(localforum):
    localforum.create_user("alice", "alice@example.org")
    category = localforum.create_category("Club")
    post = localforum.client("alice").create_post("Bonjour de la part d'Alice.", category_id=category["id"],
                                                  title="De la part d'Alice")
    assert post["username"] == "alice"


def test_staged_user_cannot_act_through_the_api(localforum):
    localforum.create_user("staged", "staged@example.org", staged=True)
    category = localforum.create_category("Club")
    with pytest.raises(DiscourseClientError) as error:
        localforum.client("staged").create_post("Message d'un utilisateur intermédiaire.", category_id=category["id"],
                                            title="Sujet d'un intermédiaire")
    assert error.value.response.status_code == 403


def test_unknown_route_is_json_404(localforum):
    response = requests.get(localforum.url + "/nope.json", headers=localforum.headers(), timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json()["error_type"] == "not_found"


def test_rate_limit_answers_like_discourse(make_localforum):
    forum = make_localforum(rate_limit=3)
    url = forum.url + "/site.json"
    for _ in range(3):
        assert requests.get(url, headers=forum.headers(), timeout=10).status_code == 200
    response = requests.get(url, headers=forum.headers(), timeout=10)
    assert response.status_code == 429
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.headers["Discourse-Rate-Limit-Error-Code"] == "admin_api_key_rate_limit"
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert response.json() == {
        "errors": [f"You've performed this action too many times. Please wait {wait} seconds "
                   "before trying again."],
        "error_type": "rate_limit",
        "extras": {"wait_seconds": wait, "time_left": f"{wait} seconds"}}


def test_fault_injection_status_and_count(localforum):
    localforum.faults.fail(500, count=2, path=r"^/site")
    url = localforum.url + "/site.json"
    statuses = [requests.get(url, headers=localforum.headers(), timeout=10).status_code
                for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert localforum.requests.count_of("GET", "/site.json") == 3


def test_fault_injection_429_is_honoured_by_pydiscourse(localforum):
    localforum.faults.rate_limit(retry_after=0, count=1)
    client = localforum.client()
    started = time.monotonic()
    assert client.get_site_info()["post_types"]["whisper"] == 4
    assert time.monotonic() - started >= 1  # pydiscourse sleeps wait_seconds + 1
    assert localforum.requests.count_of("GET", "/site.json") == 2


def test_fault_injection_slow_and_duration(localforum):
    slow = localforum.faults.slow(0.3, count=1)
    started = time.monotonic()
    requests.get(localforum.url + "/site.json", headers=localforum.headers(), timeout=30)
    assert time.monotonic() - started >= 0.3  # a lower bound: load only lengthens it
    assert slow.wait_finished(1)
    # A held request (released by the test, not by a clock) times the caller out on any machine.
    held = localforum.faults.hold(count=1)
    with pytest.raises(requests.Timeout):
        requests.get(localforum.url + "/site.json", headers=localforum.headers(), timeout=0.2)
    held.release()
    assert held.wait_finished(1)
    localforum.faults.fail(503, seconds=60)
    response = requests.get(localforum.url + "/site.json", headers=localforum.headers(), timeout=10)
    assert response.status_code == 503
    localforum.faults.clear()
    assert requests.get(localforum.url + "/site.json", headers=localforum.headers(),
                        timeout=10).status_code == 200


def test_forum_down_is_a_connection_error(make_localforum):
    forum = make_localforum()
    url = forum.url
    forum.stop()
    with pytest.raises(requests.ConnectionError):
        DiscourseClient(url, "system", "k", timeout=2).get_site_info()


def test_a_stopped_forum_keeps_its_port_until_released(make_localforum):
    """A stopped forum's port is refused, never handed to another server (one of another
    test process would answer in its place); released, it is free again."""
    import socket

    forum = make_localforum()
    port = forum.server.server_port
    forum.stop()
    other = socket.socket()
    with pytest.raises(OSError):
        other.bind(("127.0.0.1", port))
    other.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/site.json", timeout=2)
    forum.release()
    free = socket.socket()
    free.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    free.bind(("127.0.0.1", port))
    free.close()


def test_browser_is_sent_to_the_ui(localforum):
    category = localforum.create_category("Club")
    post = localforum.client().create_post("Bonjour, voici un message.", category_id=category["id"],
                                             title="Un sujet du club")
    response = requests.get(f"{localforum.url}/t/un-sujet/{post['topic_id']}",
                            headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert "Un sujet" in response.text and response.url.endswith(f"/ui/t/{post['topic_id']}")
