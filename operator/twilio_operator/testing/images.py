"""Container images written as files, for a node that reaches no registry.

`write_image_archive` writes a one-layer image in the `docker save` format (manifest.json, the image
config, the layer tar), which `ctr images import` reads. The local node's pause image is made this
way from a static pause binary, so that the node needs neither a registry nor a Docker daemon.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

EPOCH = 0  # fixed mtimes: the same inputs give the same image digest


@dataclass(frozen=True)
class ImageFile:
    """A file of the image's only layer."""

    path: str  # inside the image, without the leading /
    content: bytes
    mode: int = 0o644


def _layer(files: list[ImageFile]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = sorted({str(Path(f.path).parent) for f in files} - {"."})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
            tar.addfile(info)
        for file in files:
            info = tarfile.TarInfo(file.path)
            info.size, info.mode, info.mtime = len(file.content), file.mode, EPOCH
            tar.addfile(info, io.BytesIO(file.content))
    return buffer.getvalue()


def write_image_archive(
    destination: Path, reference: str, files: list[ImageFile], entrypoint: list[str], user: str = ""
) -> str:
    """Write the image `reference` (e.g. localhost/pause:3.10) to destination; return its config digest."""
    layer = _layer(files)
    layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint, "User": user, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created_by": "twilio_operator.testing.images"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    layer_name = f"{layer_digest.removeprefix('sha256:')}/layer.tar"
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": [reference], "Layers": [layer_name]}]
    with tarfile.open(destination, "w") as tar:
        for name, content in (
            (f"{config_hex}.json", config_bytes),
            (layer_name, layer),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, EPOCH
            tar.addfile(info, io.BytesIO(content))
    return f"sha256:{config_hex}"
