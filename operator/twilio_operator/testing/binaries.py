"""Finding the control-plane binaries the way controller-runtime's envtest does.

Order, for each binary on its own: TEST_ASSET_<NAME>, $KUBEBUILDER_ASSETS/<name>, the setup-envtest
store (where `make controlplane` downloads envtest's etcd, kube-apiserver and kubectl when it can), then
this repository's own build (CONTROLPLANE_BIN or <repo>/.cache/controlplane/bin: what `make
controlplane` could not download, and kube-controller-manager). envtest's archives hold kube-apiserver,
etcd and kubectl but no kube-controller-manager, so with KUBEBUILDER_ASSETS set that one usually comes
from the local build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

NAMES = ("kube-apiserver", "etcd", "kubectl", "kube-controller-manager")
NOT_IN_ENVTEST = frozenset({"kube-controller-manager"})


class BinaryNotFoundError(RuntimeError):
    """A control-plane binary is missing; the message says how to get it."""


@dataclass(frozen=True)
class Binaries:
    """What the control plane itself runs; kubectl is looked up on demand by run_kubectl.

    kube_controller_manager is None for a control plane started without one.
    """

    kube_apiserver: Path
    etcd: Path
    kube_controller_manager: Path | None = None


def repo_root() -> Path | None:
    """The checkout this package lives in (or the cwd is in), recognised by hack/controlplane/build.sh."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / "hack" / "controlplane" / "build.sh").is_file():
                return candidate
    return None


def _envtest_store_dirs() -> list[Path]:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    store = Path(data_home) / "kubebuilder-envtest" / "k8s"
    # Newest version first: directory names are like 1.36.0-linux-amd64.
    return sorted(store.glob("*/"), key=_version_key, reverse=True) if store.is_dir() else []


def _version_key(path: Path) -> tuple[int, ...]:
    parts = path.name.split("-", 1)[0].split(".")
    return tuple(int(p) if p.isdigit() else 0 for p in parts)


def _local_build_dir() -> Path | None:
    if explicit := os.environ.get("CONTROLPLANE_BIN"):
        return Path(explicit)
    root = repo_root()
    return root / ".cache" / "controlplane" / "bin" if root else None


def asset_variable(name: str) -> str:
    """The envtest-style override for one binary, e.g. TEST_ASSET_KUBE_CONTROLLER_MANAGER."""
    return "TEST_ASSET_" + name.upper().replace("-", "_")


def candidate_paths(name: str) -> list[Path]:
    """Every place `name` is looked for, in order."""
    paths: list[Path] = []
    if explicit := os.environ.get(asset_variable(name)):
        paths.append(Path(explicit))
    if assets := os.environ.get("KUBEBUILDER_ASSETS"):
        paths.append(Path(assets) / name)
    paths.extend(store / name for store in _envtest_store_dirs())
    if local := _local_build_dir():
        paths.append(local / name)
    return paths


def find_binary(name: str) -> Path:
    paths = candidate_paths(name)
    for path in paths:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise BinaryNotFoundError(_not_found_message(name, paths))


def _not_found_message(name: str, paths: list[Path]) -> str:
    searched = "\n  ".join(str(p) for p in paths) or "(no candidate locations)"
    how = (
        "run `make controlplane` to download or build it "
        f"(or set KUBEBUILDER_ASSETS / {asset_variable(name)})"
    )
    if name in NOT_IN_ENVTEST:
        how = (
            "envtest's archives (KUBEBUILDER_ASSETS, setup-envtest) do not contain it: "
            "run `make controlplane` to build it next to your other binaries, "
            f"or set {asset_variable(name)} to one you have; "
            f"or start the control plane without it (ControlPlane(controller_manager=False), "
            f"`make cluster CLUSTER_ARGS=--without-controller-manager`)"
        )
    return f"{name} not found; {how}. Searched:\n  {searched}"


def find_binaries(*, controller_manager: bool = True) -> Binaries:
    """Each binary found on its own, so KUBEBUILDER_ASSETS can supply some and the local build the rest."""
    return Binaries(
        kube_apiserver=find_binary("kube-apiserver"),
        etcd=find_binary("etcd"),
        kube_controller_manager=find_binary("kube-controller-manager") if controller_manager else None,
    )
