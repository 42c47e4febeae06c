"""Where the control-plane harness finds kube-controller-manager: per binary, envtest order.

envtest's archives (KUBEBUILDER_ASSETS) hold kube-apiserver, etcd and kubectl but not
kube-controller-manager, so each binary must be looked up on its own and the local build fill the gap.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twilio_operator.testing.binaries import BinaryNotFoundError, find_binaries, find_binary

KCM = "kube-controller-manager"


def _executable(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Empty lookup locations: explicit asset, KUBEBUILDER_ASSETS, envtest store, local build."""
    for variable in ("TEST_ASSET_KUBE_CONTROLLER_MANAGER", "TEST_ASSET_KUBE_APISERVER", "TEST_ASSET_ETCD"):
        monkeypatch.delenv(variable, raising=False)
    found = {
        "assets": tmp_path / "assets",
        "store": tmp_path / "xdg" / "kubebuilder-envtest" / "k8s" / "1.36.0-linux-amd64",
        "local": tmp_path / "local",
    }
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(found["assets"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CONTROLPLANE_BIN", str(found["local"]))
    return found


def test_envtest_assets_without_kcm_fall_back_to_the_local_build(dirs: dict[str, Path]) -> None:
    apiserver = _executable(dirs["assets"], "kube-apiserver")
    etcd = _executable(dirs["assets"], "etcd")
    _executable(dirs["local"], "kube-apiserver")  # loses to KUBEBUILDER_ASSETS
    kcm = _executable(dirs["local"], KCM)

    binaries = find_binaries()
    assert (binaries.kube_apiserver, binaries.etcd, binaries.kube_controller_manager) == (
        apiserver,
        etcd,
        kcm,
    )


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (("explicit", "assets", "store", "local"), "explicit"),
        (("assets", "store", "local"), "assets"),
        (("store", "local"), "store"),
        (("local",), "local"),
    ],
)
def test_lookup_order_is_envtests(
    dirs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    present: tuple[str, ...],
    expected: str,
) -> None:
    paths = {place: _executable(dirs[place], KCM) for place in present if place != "explicit"}
    if "explicit" in present:
        paths["explicit"] = _executable(tmp_path / "elsewhere", "my-kcm")
        monkeypatch.setenv("TEST_ASSET_KUBE_CONTROLLER_MANAGER", str(paths["explicit"]))
    assert find_binary(KCM) == paths[expected]


def test_a_non_executable_file_is_skipped(dirs: dict[str, Path]) -> None:
    dirs["assets"].mkdir(parents=True)
    (dirs["assets"] / KCM).write_text("not a program")
    local = _executable(dirs["local"], KCM)
    assert find_binary(KCM) == local


def test_missing_kcm_says_how_to_get_it(dirs: dict[str, Path]) -> None:
    for name in ("kube-apiserver", "etcd"):
        _executable(dirs["assets"], name)
    with pytest.raises(BinaryNotFoundError) as missing:
        find_binaries()
    message = str(missing.value)
    assert message.startswith(f"{KCM} not found")
    assert "do not contain it" in message
    assert "make controlplane" in message
    assert "TEST_ASSET_KUBE_CONTROLLER_MANAGER" in message
    assert "controller_manager=False" in message
    assert str(dirs["local"] / KCM) in message  # the places searched are listed


def test_opting_out_does_not_need_kcm(dirs: dict[str, Path]) -> None:
    for name in ("kube-apiserver", "etcd"):
        _executable(dirs["assets"], name)
    assert find_binaries(controller_manager=False).kube_controller_manager is None


def test_missing_binaries_name_make_controlplane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("TEST_ASSET_KUBE_APISERVER", "KUBEBUILDER_ASSETS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("CONTROLPLANE_BIN", str(tmp_path / "empty"))
    with pytest.raises(BinaryNotFoundError, match="make controlplane"):
        find_binary("kube-apiserver")
