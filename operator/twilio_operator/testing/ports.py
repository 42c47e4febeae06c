"""Free loopback ports for the servers that tests, the demo and the benchmarks start."""

from __future__ import annotations

import socket
from contextlib import ExitStack

HOST = "127.0.0.1"


def free_ports(count: int, host: str = HOST) -> list[int]:
    """`count` distinct free TCP ports.

    Every socket stays bound until all have their port: asked one at a time, the kernel may hand the
    same just-released port out twice (it did: an operator's metrics and liveness servers collided).
    """
    with ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port(host: str = HOST) -> int:
    return free_ports(1, host)[0]


def free_udp_port(host: str = HOST) -> int:
    """A free UDP port (TCP and UDP ports are separate: a free TCP port says nothing about UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
