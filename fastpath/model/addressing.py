"""Address helpers: IPv4 and MAC as plain integers, formatted only at the edges.

The model keeps every address as an int (IPv4 as a 32-bit value, MAC as a 48-bit value):
a million pods are a few numpy columns, not a million ``IPv4Address`` objects. These helpers
convert at the boundary (spec files, CLI, printing) and are the only place that does.
"""

from __future__ import annotations

import ipaddress
import re

import numpy as np

ROUTER_MAC_DEFAULT = 0x02_50_56_56_44_52
"""The NSX distributed-router MAC from the seed, on every router port."""

POD_MAC_BASE = 0x02_00_00_00_00_00
"""Locally administered range pod MACs are allocated from (pod index + 1)."""

NODE_MAC_BASE = 0x00_50_56_00_00_00
"""VMware OUI: node VM NICs are allocated from here (node index + 1)."""

BROADCAST_MAC = 0xFF_FF_FF_FF_FF_FF

OVS_RESERVED_MACS = frozenset(
    [0x01_80_C2_00_00_00 + k for k in range(16)]  # IEEE 802.1 link-local: STP, pause, LACP, 802.1X, LLDP, ...
    + [0x00_E0_2B_00_00_00, 0x00_E0_2B_00_00_04, 0x00_E0_2B_00_00_06]  # Extreme EDP, EAPS (unicast!)
    + [0x01_00_0C_00_00_00, 0x01_00_0C_CC_CC_CC, 0x01_00_0C_CC_CC_CD, 0x01_00_0C_CD_CD_CD]  # Cisco ISL, CDP..., PVST+
    + [0x01_00_0C_CC_CC_C0 + k for k in range(8)])  # Cisco CFM
"""Destination MACs Open vSwitch's NORMAL action drops where they enter the bridge (unless the
bridge sets ``other_config:forward-bpdu``): its ``eth_addr_is_reserved``. tests/test_ovs_real.py
holds every one against a real bridge."""


def is_multicast_mac(mac: int) -> bool:
    """The I/G bit: group (multicast or broadcast) addresses; a switch never learns them."""
    return bool(int(mac) >> 40 & 1)


def mac_to_str(mac: int) -> str:
    m = int(mac)
    return "%02x:%02x:%02x:%02x:%02x:%02x" % (m >> 40 & 255, m >> 32 & 255, m >> 24 & 255, m >> 16 & 255,
                                              m >> 8 & 255, m & 255)


_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}")


def mac_from_str(text: str) -> int:
    """Parse six hex pairs separated by ``:`` (``aa:bb:cc:dd:ee:ff``, as Linux and OVS write
    them) or all by ``-`` (``AA-BB-CC-DD-EE-FF``, IEEE 802 / Windows); either case. Nothing
    else: no single digits, mixed separators, dots (Cisco's aabb.ccdd.eeff), blanks or signs.
    Raises ValueError with the text."""
    if not isinstance(text, str) or _MAC.fullmatch(text) is None:
        shown = repr(text[:64]) + "..." if isinstance(text, str) and len(text) > 64 else repr(text)
        raise ValueError(f"not a MAC address (six hex pairs as aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff): {shown}")
    return int(text[0:2] + text[3:5] + text[6:8] + text[9:11] + text[12:14] + text[15:17], 16)


def ip_to_str(ip: int) -> str:
    a = int(ip)
    if not 0 <= a <= 0xFFFF_FFFF:
        raise ValueError(f"not an IPv4 address: {ip!r}")
    return "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)


def ip_from_str(text) -> int:
    try:
        return int(ipaddress.IPv4Address(text if not isinstance(text, str) else text.strip()))
    except (ipaddress.AddressValueError, ValueError):
        raise ValueError(f"not an IPv4 address: {text!r}") from None


def net_from_str(text) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(text).strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 network: {text!r} ({exc})") from None


def ips_to_strs(ips: np.ndarray) -> list[str]:
    """Bulk dotted-quad formatting for uint32 columns."""
    a = np.asarray(ips, dtype=np.uint32)
    b = [(a >> s) & 0xFF for s in (24, 16, 8, 0)]
    return [f"{w}.{x}.{y}.{z}" for w, x, y, z in zip(*(c.tolist() for c in b))]


def macs_to_strs(macs: np.ndarray) -> list[str]:
    return [mac_to_str(m) for m in np.asarray(macs, dtype=np.uint64).tolist()]
