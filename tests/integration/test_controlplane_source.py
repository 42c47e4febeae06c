"""`make controlplane` (hack/controlplane/build.sh): download envtest's binaries, else build them.

setup-envtest reads a release index (controller-tools' envtest-releases.yaml format), downloads the
archive it names and checks it against the index's SHA-512. Here the index and the archive (a tar.gz
of this machine's own etcd, kube-apiserver and kubectl) come from a loopback HTTP server; an
unreachable index is a loopback port nobody listens on. setup-envtest's store, the local build
directory and the Go module proxy (off) are all test-local: no traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import socket
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from twilio_operator.testing import binaries

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "hack" / "controlplane" / "build.sh"
ENVTEST_NAMES = ("etcd", "kube-apiserver", "kubectl")


def _versions() -> dict[str, str]:
    text = (REPO / "hack" / "controlplane" / "versions.env").read_text()
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


ENVTEST_VERSION = _versions()["ENVTEST_K8S_VERSION"]
PLATFORM = "linux-amd64"
ARCHIVE = f"envtest-v{ENVTEST_VERSION}-{PLATFORM}.tar.gz"


def _sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unused_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: a connection to it is refused


@dataclass
class FakeIndex:
    root: Path
    port: int
    requests: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/envtest-releases.yaml"

    def publish(self, archive_hash: str) -> None:
        self.root.joinpath("envtest-releases.yaml").write_text(
            "releases:\n"
            f"  v{ENVTEST_VERSION}:\n"
            f"    {ARCHIVE}:\n"
            f"      hash: {archive_hash}\n"
            f"      selfLink: http://127.0.0.1:{self.port}/{ARCHIVE}\n"
        )


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """An envtest-shaped archive (controller-tools/envtest/<name>) of the binaries this machine has."""
    if os.uname().sysname != "Linux" or os.uname().machine != "x86_64":
        pytest.skip(f"the fake archive is named for {PLATFORM}; this machine is {os.uname().machine}")
    # A binary not found fails the test, with the hint to run `make controlplane`.
    sources = {name: binaries.find_binary(name) for name in ENVTEST_NAMES}
    path = tmp_path_factory.mktemp("envtest-archive") / ARCHIVE
    # Stored, not compressed: the archive is ~190 MB and only crosses loopback.
    with gzip.open(path, "wb", compresslevel=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, source in sources.items():
            tar.add(source, arcname=f"controller-tools/envtest/{name}")
    return path, sources


@pytest.fixture
def fake_index(tmp_path: Path, archive: tuple[Path, dict[str, Path]]) -> Iterator[FakeIndex]:
    root = tmp_path / "index"
    root.mkdir()
    (root / ARCHIVE).symlink_to(archive[0])
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    index = FakeIndex(root, server.server_address[1], requests)
    index.publish(_sha512(archive[0]))
    yield index
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def setup_envtest() -> None:
    """setup-envtest, built by hack/gotools/build.sh from the Go module cache only (GOPROXY=off)."""
    env = {**os.environ, "GOPROXY": "off"}
    result = subprocess.run(
        ["bash", str(REPO / "hack" / "gotools" / "build.sh"), "setup-envtest"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(
            "setup-envtest is not built and its modules are not in the Go module cache, and this test "
            "stays off the network: run `bash hack/gotools/build.sh setup-envtest` once (needs the Go "
            f"module proxy). Its error: {result.stderr.strip().splitlines()[-1:]}"
        )


@dataclass
class Dirs:
    data: Path  # XDG_DATA_HOME: setup-envtest's store is data/kubebuilder-envtest
    bin: Path  # CONTROLPLANE_BIN: the local build

    @property
    def store(self) -> Path:
        return self.data / "kubebuilder-envtest" / "k8s" / f"{ENVTEST_VERSION}-{PLATFORM}"


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Dirs:
    """Test-local store and build directory; no variable that would point the lookup elsewhere."""
    for name in ("KUBEBUILDER_ASSETS", "CONTROLPLANE_SOURCE", "ENVTEST_INSTALLED_ONLY"):
        monkeypatch.delenv(name, raising=False)
    for name in binaries.NAMES:
        monkeypatch.delenv(binaries.asset_variable(name), raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    found = Dirs(tmp_path / "data", tmp_path / "bin")
    monkeypatch.setenv("XDG_DATA_HOME", str(found.data))
    monkeypatch.setenv("CONTROLPLANE_BIN", str(found.bin))
    monkeypatch.setenv("GOPROXY", "off")  # a build uses the module cache; anything else fails loudly
    return found


def run_build(index_url: str, *components: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(BUILD), *components],
        capture_output=True,
        text=True,
        env={**os.environ, "ENVTEST_INDEX_URL": index_url, **env},
        timeout=240,
        check=False,
    )


def path_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line saying which path was taken and why."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("control plane: etcd")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.usefixtures("setup_envtest")
def test_the_download_path_puts_the_binaries_where_the_harness_looks(
    dirs: Dirs, fake_index: FakeIndex, archive: tuple[Path, dict[str, Path]]
) -> None:
    result = run_build(fake_index.url, *ENVTEST_NAMES)

    assert result.returncode == 0, result.stderr
    line = path_line(result)
    assert f"downloaded envtest {ENVTEST_VERSION} (SHA-512 checked) into {dirs.store}" in line, line
    assert "building" not in result.stderr and not dirs.bin.exists(), result.stderr  # nothing compiled
    assert f"/{ARCHIVE}" in fake_index.requests
    for name, source in archive[1].items():
        found = binaries.find_binary(name)
        assert found == dirs.store / name
        assert _sha512(found) == _sha512(source)
    version = subprocess.run(
        [str(binaries.find_binary("kube-apiserver")), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("Kubernetes v"), version.stdout

    # Once in the store, nothing is fetched again: not even the index.
    fake_index.requests.clear()
    again = run_build(fake_index.url, *ENVTEST_NAMES)
    assert again.returncode == 0, again.stderr
    assert "nothing to download or build" in path_line(again)
    assert fake_index.requests == []


@pytest.mark.usefixtures("setup_envtest")
def test_an_unreachable_index_takes_the_build_path_and_says_why(dirs: Dirs) -> None:
    port = _unused_loopback_port()

    result = run_build(f"http://127.0.0.1:{port}/envtest-releases.yaml", "etcd")

    assert result.returncode == 0, result.stderr
    line = path_line(result)
    assert "building from Go modules, because the envtest download failed:" in line, line
    assert f"127.0.0.1:{port}" in line and "connection refused" in line, line
    etcd_version = _versions()["ETCD_VERSION"]
    assert (dirs.bin / ".etcd.version").read_text().strip() == etcd_version
    assert binaries.find_binary("etcd") == dirs.bin / "etcd"
    assert not dirs.store.exists()


@pytest.mark.usefixtures("setup_envtest")
def test_an_archive_that_does_not_match_the_index_hash_is_refused(dirs: Dirs, fake_index: FakeIndex) -> None:
    fake_index.publish("0" * 128)

    result = run_build(fake_index.url, *ENVTEST_NAMES, CONTROLPLANE_SOURCE="download")

    assert result.returncode == 1, result.stderr
    line = path_line(result)
    assert "envtest download failed and CONTROLPLANE_SOURCE=download" in line, line
    assert "checksum mismatch" in line, line
    assert not dirs.store.exists() and not dirs.bin.exists()  # nothing half-installed, nothing built


@pytest.mark.usefixtures("setup_envtest")
def test_controlplane_source_build_never_asks_the_index(dirs: Dirs, fake_index: FakeIndex) -> None:
    result = run_build(fake_index.url, "etcd", CONTROLPLANE_SOURCE="build")

    assert result.returncode == 0, result.stderr
    assert "building from Go modules, because CONTROLPLANE_SOURCE=build" in path_line(result)
    assert fake_index.requests == []
    assert (dirs.bin / ".etcd.version").is_file()


@pytest.mark.parametrize("where", ["KUBEBUILDER_ASSETS", "local build"])
def test_binaries_already_there_need_neither_index_nor_build(
    dirs: Dirs, fake_index: FakeIndex, tmp_path: Path, where: str
) -> None:
    env: dict[str, str] = {}
    if where == "KUBEBUILDER_ASSETS":
        assets = tmp_path / "assets"
        assets.mkdir()
        env["KUBEBUILDER_ASSETS"] = str(assets)
        directory = assets
    else:
        directory = dirs.bin
        directory.mkdir()
    versions = _versions()
    for name in ENVTEST_NAMES:
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
        version = versions["ETCD_VERSION"] if name == "etcd" else versions["KUBE_VERSION"]
        (directory / f".{name}.version").write_text(f"{version}\n")

    result = run_build(fake_index.url, *ENVTEST_NAMES, **env)

    assert result.returncode == 0, result.stderr
    line = path_line(result)
    assert "nothing to download or build" in line and str(directory) in line, line
    assert fake_index.requests == []
    assert "building" not in result.stderr
