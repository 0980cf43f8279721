"""A seeded mix of every traffic class, valid and garbage: the differential tests' diet.

Each packet draws a class, then fields from the cluster itself (endpoint, router, link and
transit addresses, unused addresses inside subnets, outside addresses; sizes at the MTU
edge; TTLs near expiry; spoofed sources; explicit, wrong or own MACs, reserved, broadcast and
multicast ones, a frame to its own source; VLAN tags a node really uses or not) or, for the
garbage class, any value each field's dtype can hold.
"""

from __future__ import annotations

import numpy as np

from ..model.addressing import BROADCAST_MAC, OVS_RESERVED_MACS
from ..model.cluster import TRANSIT_DR_IP, TRANSIT_SR_IP, Cluster
from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, INPUT_FIELDS, PacketBatch, make_batch


def adversarial_mix(cluster: Cluster, n: int, *, seed: int = 0, garbage: float = 0.2) -> PacketBatch:
    c = cluster
    rng = np.random.default_rng(seed)
    P, N, U = len(c.pods), len(c.nodes), len(c.uplinks)
    pod_ip, pod_mac, pod_vlan = c.pods.ip.astype(np.int64), c.pods.mac.astype(np.int64), c.pods.vlan.astype(np.int64)
    node_ip = np.array([x.ip for x in c.nodes], np.int64)
    node_mac = np.array([x.mac for x in c.nodes], np.int64)
    ep_ip = np.concatenate([pod_ip, node_ip])
    specials = [s.gateway for s in c.segments] + [TRANSIT_DR_IP, TRANSIT_SR_IP]
    specials += [ip for r in c.t1s for ip in (r.link_t0_ip, r.link_t1_ip)] + [u.ip for u in c.uplinks]
    specials += [int(s.subnet.broadcast_address) for s in c.segments]
    specials += [int(s.subnet.network_address) + int(s.subnet.num_addresses) - 2 for s in c.segments]
    specials = np.array(specials, np.int64)
    seg_base = np.array([int(s.subnet.network_address) for s in c.segments], np.int64)
    seg_size = np.array([s.subnet.num_addresses for s in c.segments], np.int64)
    overhead = c.settings.geneve_overhead
    mtus = np.array(sorted({h.mtu for h in c.hosts}), np.int64)

    cls = rng.choice(8, size=n, p=[0.30, 0.10, 0.06, 0.14, 0.06, 0.06, 0.08, 0.20])
    # 0 pod->endpoint, 1 node->endpoint, 2 uplink->anything, 3 pod->special/unused/outside,
    # 4 spoofed, 5 explicit dst MAC, 6 VLAN-tagged, 7 garbage
    kind = np.where(np.isin(cls, (1, 6)), INGRESS_NODE, np.where(cls == 2, INGRESS_UPLINK, INGRESS_POD))
    if P == 0:
        kind = np.where(kind == INGRESS_POD, INGRESS_NODE, kind)
    if U == 0:
        kind = np.where(kind == INGRESS_UPLINK, INGRESS_NODE, kind)
    iid = np.where(kind == INGRESS_POD, rng.integers(0, max(P, 1), n),
                   np.where(kind == INGRESS_NODE, rng.integers(0, N, n), rng.integers(0, max(U, 1), n)))
    src_ip = np.where(kind == INGRESS_POD, pod_ip[np.minimum(iid, max(P - 1, 0))] if P else 0,
                      np.where(kind == INGRESS_NODE, node_ip[np.minimum(iid, N - 1)], rng.integers(0, 1 << 32, n)))

    # destinations: endpoints, specials, unused addresses inside subnets, anywhere
    pick = rng.random(n)
    seg = rng.integers(0, len(seg_base), n)
    dst_ip = np.where(pick < 0.6, ep_ip[rng.integers(0, len(ep_ip), n)],
                      np.where(pick < 0.75, specials[rng.integers(0, len(specials), n)],
                               np.where(pick < 0.9, seg_base[seg] + rng.integers(0, seg_size[seg]),
                                        rng.integers(0, 1 << 32, n))))
    dst_ip = np.where(cls == 0, ep_ip[rng.integers(0, len(ep_ip), n)], dst_ip)

    ttl = np.where(rng.random(n) < 0.7, 64, rng.integers(1, 7, n))
    size_pick = rng.random(n)
    mtu = mtus[rng.integers(0, len(mtus), n)]
    length = np.where(size_pick < 0.6, rng.choice([64, 100, 576, 1400], n),
                      np.where(size_pick < 0.9, mtu - overhead + rng.integers(-1, 2, n), rng.integers(28, 9001, n)))
    proto = rng.choice([1, 6, 17, 17, 47], n)
    sport = rng.integers(0, 1 << 16, n)
    dport = np.where(rng.random(n) < 0.3, rng.choice([53, 80, 443, 5432], n), rng.integers(0, 1 << 16, n))
    src_mac = np.zeros(n, np.int64)
    dst_mac = np.zeros(n, np.int64)
    vlan = np.zeros(n, np.int64)

    # spoofed: another endpoint's IP, or a random MAC
    spoof = cls == 4
    half = rng.random(n) < 0.5
    src_ip = np.where(spoof & half, ep_ip[rng.integers(0, len(ep_ip), n)], src_ip)
    src_mac = np.where(spoof & ~half, rng.integers(1, 1 << 47, n) << 1, src_mac)
    # explicit destination MACs: a pod's, a node's, the router's, the sender's own, random; what
    # OVS drops or floods: a reserved one, broadcast, other multicast; the frame's own (spoofed) source
    ex = cls == 5
    mac_pick = rng.integers(0, 9, n)
    own = np.where(kind == INGRESS_POD, pod_mac[np.minimum(iid, max(P - 1, 0))] if P else 0,
                   node_mac[np.minimum(iid, N - 1)])
    reserved = np.array(sorted(OVS_RESERVED_MACS), np.int64)
    multicast = np.where(half, 0x01_80_C2_00_00_10, 0x01_00_5E_00_00_00) + rng.integers(0, 1 << 8, n)
    choice = np.select([mac_pick == 0, mac_pick == 1, mac_pick == 2, mac_pick == 3, mac_pick == 5, mac_pick == 6,
                        mac_pick == 7],
                       [pod_mac[rng.integers(0, max(P, 1), n)] if P else 1, node_mac[rng.integers(0, N, n)],
                        np.full(n, c.settings.router_mac), own, reserved[rng.integers(0, reserved.size, n)],
                        np.full(n, BROADCAST_MAC), multicast], rng.integers(1, 1 << 48, n))
    dst_mac = np.where(ex, choice, dst_mac)
    looped = ex & (mac_pick == 8)
    src_mac = np.where(looped, dst_mac, src_mac)
    # VLAN-tagged frames from nodes: a tag some pod uses (anywhere), or any 12-bit value
    tg = cls == 6
    vlan = np.where(tg, np.where(half, pod_vlan[rng.integers(0, max(P, 1), n)] if P else 1,
                                 rng.integers(0, 4096, n)), vlan)
    # sometimes the node sends with the tagged pod's own addresses (passes SpoofGuard)
    if P:
        same = tg & (rng.random(n) < 0.5)
        on_node = rng.integers(0, P, n)
        src_ip = np.where(same, pod_ip[on_node], src_ip)
        src_mac = np.where(same, pod_mac[on_node], src_mac)
        iid = np.where(same, c.pods.node[on_node], iid)
        vlan = np.where(same, pod_vlan[on_node], vlan)
        dst_mac = np.where(same & half, c.settings.router_mac, dst_mac)
        # or to the pod's own MAC: back down the trunk to the port it came from
        dst_mac = np.where(same & ~half & (rng.random(n) < 0.3), pod_mac[on_node], dst_mac)

    cols = dict(ingress_kind=kind, ingress_id=iid, src_mac=src_mac, dst_mac=dst_mac, vlan=vlan, src_ip=src_ip,
                dst_ip=dst_ip, proto=proto, sport=sport, dport=dport, ttl=ttl, length=length)
    # garbage: any value of each field's dtype
    g = cls == 7
    for name, dtype, _ in INPUT_FIELDS:
        if name not in cols:
            continue
        info = np.iinfo(dtype)
        lo, hi = int(info.min), int(info.max)
        if name == "ingress_id":  # around the valid range, and far outside
            rand = np.where(rng.random(n) < 0.5, rng.integers(-3, max(P, N) + 3, n), rng.integers(lo, hi, n, endpoint=True))
        elif name == "ingress_kind":
            rand = np.where(rng.random(n) < 0.7, rng.choice([INGRESS_POD, INGRESS_NODE, INGRESS_UPLINK], n),
                            rng.integers(0, 256, n))
        elif dtype == np.uint64:
            rand = rng.integers(0, 1 << 48, n)
        else:
            rand = rng.integers(lo, hi, n, endpoint=True)
        cols[name] = np.where(g & (rng.random(n) < 0.5), rand, cols[name])
    # a quarter are replies of their connection (drawn last: the fields above keep their draws);
    # garbage: any byte (nonzero = a reply)
    cols["reply"] = np.where(g, rng.integers(0, 256, n), rng.random(n) < 0.25)
    return make_batch(**{k: np.asarray(v) for k, v in cols.items()})
