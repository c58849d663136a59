"""Locally spawned ranks are pinned to loopback (issue 20, defect 16).

Nothing set GLOO_SOCKET_IFNAME or the address: ranks listened on 127.0.0.1
only because the host name happened to resolve there; on a host whose name
resolves to a LAN address they would listen on the LAN.
"""

from __future__ import annotations

import socket

from dnibench.runtimes.distributed.launch import LOOPBACK, loopback_interface, rank_environment


def test_the_loopback_interface_is_found_by_its_address() -> None:
    name = loopback_interface()
    assert name is not None
    assert name in [n for _, n in socket.if_nameindex()]


def test_a_local_rank_binds_gloo_to_loopback_whatever_the_environment_says() -> None:
    inherited = {"PATH": "/usr/bin", "MASTER_ADDR": "10.0.0.7", "GLOO_SOCKET_IFNAME": "eth0"}
    env = rank_environment(inherited)
    assert env["MASTER_ADDR"] == LOOPBACK == "127.0.0.1"
    assert env["GLOO_SOCKET_IFNAME"] == loopback_interface()
    assert env["PATH"] == "/usr/bin"  # everything else is inherited
    assert inherited["GLOO_SOCKET_IFNAME"] == "eth0"  # the caller's mapping is not changed


def test_the_rank_environment_starts_from_the_process_environment() -> None:
    env = rank_environment()
    assert env["GLOO_SOCKET_IFNAME"] == loopback_interface() and env["MASTER_ADDR"] == LOOPBACK


def test_a_local_rank_pins_nccl_to_loopback_when_the_user_did_not_choose() -> None:
    env = rank_environment({"PATH": "/usr/bin"})
    assert env["NCCL_SOCKET_IFNAME"] == loopback_interface()


def test_a_users_nccl_interface_is_kept() -> None:
    inherited = {"NCCL_SOCKET_IFNAME": "=ib0"}
    assert rank_environment(inherited)["NCCL_SOCKET_IFNAME"] == "=ib0"
