"""kopf needs a user name at start; a uid without a passwd entry (the image's 65532) must not kill it."""

from __future__ import annotations

import getpass
import os
import pwd

import pytest

from twilio_operator import cli as launch


def _no_passwd_entry(uid: int) -> pwd.struct_passwd:
    raise KeyError(f"getpwuid(): uid not found: {uid}")


def test_a_uid_without_passwd_entry_gets_a_user_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in launch.USER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", _no_passwd_entry)
    with pytest.raises(KeyError):
        getpass.getuser()  # what kopf's peering.detect_own_id calls: the crash seen on the node
    launch.name_the_user()
    assert os.environ["USER"] == f"uid-{os.getuid()}"
    assert getpass.getuser() == f"uid-{os.getuid()}"


@pytest.mark.parametrize("variable", launch.USER_VARIABLES)
def test_a_given_name_is_kept(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in launch.USER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "someone")
    monkeypatch.setattr(pwd, "getpwuid", _no_passwd_entry)
    launch.name_the_user()
    assert "USER" not in os.environ or variable == "USER"
    assert getpass.getuser() == "someone"


def test_a_uid_with_an_entry_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in launch.USER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    launch.name_the_user()  # the test runs as a user with an entry (root here)
    assert "USER" not in os.environ
