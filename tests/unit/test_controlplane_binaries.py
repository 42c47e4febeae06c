"""Finding the control-plane binaries: what a contributor sees when they are not built yet.

No control plane runs here: the lookup is pointed at empty directories.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twilio_operator.testing.binaries import BinaryNotFoundError, find_binary


def test_missing_binaries_name_make_controlplane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("TEST_ASSET_KUBE_APISERVER", "KUBEBUILDER_ASSETS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("CONTROLPLANE_BIN", str(tmp_path / "empty"))
    with pytest.raises(BinaryNotFoundError, match="make controlplane"):
        find_binary("kube-apiserver")
