"""TEMPORARY linear classifier (placeholder until the real one lands): rows grouped by table."""

from __future__ import annotations

import numpy as np

from .._jit import kernel

PORT_PROTOCOLS = (6, 17, 132)
FIELDS = ("cls_off", "cls_row", "cls_net", "cls_mask", "cls_proto", "cls_lo", "cls_hi")


def build(table, net, plen, proto, port_lo, port_hi, n_tables) -> dict:
    table = np.asarray(table, np.int64)
    order = np.argsort(table, kind="stable")
    off = np.zeros(n_tables + 1, np.int64)
    np.add.at(off, table + 1, 1)
    off = np.cumsum(off)
    plen = np.asarray(plen, np.int64)
    mask = np.where(plen == 0, 0, (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF).astype(np.uint32)
    return {"cls_off": off, "cls_row": order.astype(np.int64), "cls_net": np.asarray(net, np.uint32)[order],
            "cls_mask": mask[order], "cls_proto": np.asarray(proto, np.uint8)[order],
            "cls_lo": np.asarray(port_lo, np.uint16)[order], "cls_hi": np.asarray(port_hi, np.uint16)[order]}


@kernel(inline="always")
def classify_view(dp, t, ip, proto, port):
    if t < 0 or t >= dp.cls_off.shape[0] - 1:
        return np.int64(-1)
    ports = proto == 6 or proto == 17 or proto == 132
    for k in range(dp.cls_off[t], dp.cls_off[t + 1]):
        if (ip & dp.cls_mask[k]) != dp.cls_net[k]:
            continue
        rp = dp.cls_proto[k]
        if rp != 0 and rp != proto:
            continue
        lo = dp.cls_lo[k]
        hi = dp.cls_hi[k]
        if ports:
            if port < lo or port > hi:
                continue
        elif lo != 0 or hi != 65535:
            continue
        return np.int64(dp.cls_row[k])
    return np.int64(-1)


def prefixes_minus(net, excepts):
    import ipaddress
    out = [net]
    for e in excepts:
        nxt = []
        for n in out:
            if e.subnet_of(n):
                nxt.extend(n.address_exclude(e) if e != n else [])
            elif n.subnet_of(e):
                continue
            else:
                nxt.append(n)
        out = nxt
    return sorted(out)
