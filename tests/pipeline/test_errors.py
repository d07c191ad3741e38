"""Stage outcomes carry a French reason."""
import pytest

from forumsync.pipeline.errors import Drop, Quarantine, Retry, StageStop


@pytest.mark.parametrize("cls", [Drop, Quarantine, Retry])
def test_outcomes_carry_their_reason(cls):
    with pytest.raises(StageStop) as info:
        raise cls("réponse automatique")
    assert info.value.reason == "réponse automatique" and str(info.value) == "réponse automatique"
    assert isinstance(info.value, cls)


def test_outcomes_are_distinct():
    assert not issubclass(Drop, Quarantine) and not issubclass(Quarantine, Drop)
    assert not issubclass(Retry, Drop)
