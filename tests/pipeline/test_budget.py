"""A processor-time budget per message (``pipeline/budget.py``): one message that costs
minutes of conversion is quarantined with a French reason, and the queue goes on, with and
without the pool."""
from __future__ import annotations

import pickle
import time

import pytest

from forumsync.pipeline import ahead_pool
from forumsync.pipeline.budget import OverBudget, cpu_budget
from forumsync.pipeline.errors import Quarantine
from tests.fixtures.pipeline import later, make_mail
from tests.pipeline.test_batch_import import drain, pipe_on, stored


@pytest.fixture(scope="module", autouse=True)
def _stop_pools():
    yield
    ahead_pool.shutdown()


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_budget_stops_the_computation_that_goes_over_it():
    started = time.process_time()
    with pytest.raises(OverBudget) as raised:
        with cpu_budget(0.2):
            _spin(5)
    assert 0.15 < time.process_time() - started < 2
    assert isinstance(raised.value, Quarantine)
    assert raised.value.reason.startswith("traitement trop long : plus de 0.2 s de processeur")
    copy = pickle.loads(pickle.dumps(raised.value))  # from a pool process, as itself
    assert type(copy) is OverBudget and copy.reason == raised.value.reason


def test_a_budget_not_reached_changes_nothing_and_leaves_no_timer():
    with cpu_budget(2):
        _spin(0.05)
    _spin(0.3)  # a late signal would raise here


def test_an_inner_budget_suspends_the_outer_one():
    """The main side prepares a later message (inner budget) while one is open: the inner
    message's overrun is its own, and the outer goes on with the time it had left."""
    with pytest.raises(OverBudget) as outer:
        with cpu_budget(0.6):
            _spin(0.2)
            with pytest.raises(OverBudget) as inner:
                with cpu_budget(0.2):
                    _spin(5)
            assert inner.value.seconds == 0.2
            began = time.process_time()
            _spin(5)
    assert outer.value.seconds == 0.6
    assert 0.25 < time.process_time() - began < 1.5  # ~0.4 s left, not 0.6 s again, nor none


def test_no_budget_or_a_thread_is_not_limited():
    import threading

    with cpu_budget(None):
        _spin(0.05)
    errors = []

    def in_thread():
        try:
            with cpu_budget(0.05):
                _spin(0.3)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert errors == []


# A 2.7 MB plain-text mail of 40,000 lines: ~5 s of conversion and checks on this machine
# (bench: 0.5 s of stages, 4.3 s for the check of the post's text).
HEAVY = "Bonjour,\n\n" + "".join(f"{'>' * (i % 12)} ligne {i} du journal, avec *quelques* mots "
                                  f"[et] des `signes`\n" for i in range(40_000))


@pytest.mark.slow
def test_a_message_over_its_budget_is_quarantined_and_the_queue_goes_on(tmp_path, sqlite_template,
                                                                         make_localforum):
    mails = [make_mail(subject=f"Question {n}", message_id=f"<q{n}@meyzieu.fr>", date=later(hours=n))
             for n in range(8)]
    mails.insert(3, make_mail(subject="Journal", body=HEAVY, message_id="<lourd@meyzieu.fr>",
                              date=later(hours=3, minutes=30)))
    results = {}
    for name, size in (("alone", 0), ("pool", 1)):
        pipe = pipe_on(tmp_path, name, sqlite_template, make_localforum(), PIPELINE_POOL_SIZE=size,
                       PIPELINE_MESSAGE_CPU_SECONDS=1)
        for raw in mails:
            pipe.feed(raw)
        drain(pipe, 1)
        results[name] = stored(pipe)
    for name, found in results.items():
        states = {row[0]: (row[1], row[2]) for row in found["inbox"]}
        state, reason = states["lourd@meyzieu.fr"]
        assert state == "quarantined", (name, state, reason)
        assert reason.startswith("traitement trop long : plus de 1 s de processeur"), (name, reason)
        assert [states[f"q{n}@meyzieu.fr"][0] for n in range(8)] == ["published"] * 8, name
    assert results["pool"] == results["alone"]
