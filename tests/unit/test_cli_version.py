"""`twilio-operator --version`: the version, and the commit the image was built from."""

from __future__ import annotations

import pytest

from twilio_operator import __version__, cli


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        ("0123abcd", f"twilio-operator {__version__} (commit 0123abcd)"),  # set by the image
        ("", f"twilio-operator {__version__} (commit unknown)"),  # a checkout or a plain pip install
    ],
)
def test_version_prints_version_and_commit(
    revision: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cli.REVISION_ENV, revision)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == expected


def test_the_package_version_is_the_distribution_version() -> None:
    from importlib.metadata import version

    assert version("twilio-operator") == __version__
