"""NetworkPolicy -> classifier rows: which ports share a table, and the rows of a table.

The semantics are `fastpath.policy.evaluate`'s (the reference); this module turns them into
rows of remote prefixes, protocols and port ranges for `fastpath.compile.dfw`, as NCP turns a
policy into NSX groups of IP addresses and services:

- A peer's addresses: an ``ipBlock`` is its cidr minus its excepts; a selector peer is the IPs
  of the pods it selects; either way address ranges cut into aligned prefixes
  (`ranges_to_prefixes`: exact, every address a prefix covers is the peer's); no peers is
  0.0.0.0/0.
- A port: a number or range as is; a named port resolves on the destination pod — for ingress
  the port's own pod (so the resolution is part of the pod's class), for egress each remote
  pod (rows of /32s grouped by the number the name resolves to); no ports: every protocol.

Cost: pods are grouped by (namespace, labels) first, so selectors are evaluated per group, not
per pod; a peer's prefixes are computed once per (namespace, peer) and reused by every table.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..policy.objects import EGRESS, INGRESS
from ..policy.selectors import matches


SMALL = 8
"""Ranges below which `ranges_to_prefixes` loops in Python."""


def ranges_to_prefixes(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Address ranges ``[start, end)`` (int64 arrays) -> the aligned prefixes covering exactly
    them: (network uint32[m], length uint8[m]). Each round cuts the largest aligned block off the
    front of every range left: at most 64 rounds, each vectorised over the ranges."""
    start, end = np.asarray(start, np.int64), np.asarray(end, np.int64)
    if start.size <= SMALL:  # a few ranges: plain ints beat numpy's per-call cost
        nets, lens = [], []
        for a, b in zip(start.tolist(), end.tolist()):
            while a < b:
                size = min(a & -a if a else 1 << 32, 1 << ((b - a).bit_length() - 1))
                nets.append(a)
                lens.append(33 - size.bit_length())
                a += size
        return np.array(nets, np.uint32), np.array(lens, np.uint8)
    keep = start < end
    start, end = start[keep], end[keep]
    nets, lens = [], []
    while start.size:
        align = np.where(start == 0, np.int64(1) << 32, start & -start)
        rem = end - start
        fit = np.int64(1) << (np.frexp(rem.astype(np.float64))[1] - 1).astype(np.int64)  # largest 2**k <= rem
        size = np.minimum(align, fit)
        nets.append(start.astype(np.uint32))
        lens.append((32 - (np.frexp(size.astype(np.float64))[1] - 1)).astype(np.uint8))
        start = start + size
        more = start < end
        start, end = start[more], end[more]
    if not nets:
        return np.zeros(0, np.uint32), np.zeros(0, np.uint8)
    return np.concatenate(nets), np.concatenate(lens)


def runs_to_prefixes(ips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique IPv4 ints -> prefixes covering exactly them (runs of consecutive addresses
    cut into aligned blocks), as `ranges_to_prefixes` returns them."""
    ips = np.asarray(ips, np.int64)
    if ips.size == 0:
        return ranges_to_prefixes(ips, ips)
    breaks = np.nonzero(np.diff(ips) != 1)[0]
    return ranges_to_prefixes(np.concatenate(([ips[0]], ips[breaks + 1])),
                              np.concatenate((ips[breaks], [ips[-1]])) + 1)


def block_prefixes(block) -> tuple[np.ndarray, np.ndarray]:
    """An ipBlock's addresses (its cidr minus its excepts) as prefixes; an IPv6 block holds none
    of fastpath's IPv4 addresses."""
    if block.cidr.version != 4:
        return ranges_to_prefixes(np.zeros(0, np.int64), np.zeros(0, np.int64))
    lo = int(block.cidr.network_address)
    hi = lo + block.cidr.num_addresses
    cuts = sorted((int(e.network_address), int(e.network_address) + e.num_addresses)
                  for e in block.excepts if e.version == 4)
    starts, ends, at = [], [], lo
    for a, b in cuts:  # the excepts are inside the cidr (validated), maybe overlapping
        if a > at:
            starts.append(at)
            ends.append(a)
        at = max(at, b)
    if at < hi:
        starts.append(at)
        ends.append(hi)
    return ranges_to_prefixes(np.array(starts, np.int64), np.array(ends, np.int64))


class PolicyClasses:
    """The NetworkPolicy half of the DFW's port classes and table rows for one cluster."""

    def __init__(self, c, pm, port_ip: np.ndarray):
        self.c, self.pm = c, pm
        self.n_ports = port_ip.shape[0]
        self.pod_ip = np.asarray(c.pods.ip, np.uint32)
        self.policies = pm.policies
        # pods grouped by (namespace, labels): selectors are evaluated per group
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, (ns, labels) in enumerate(zip(pm.pod_ns, pm.pod_labels)):
            groups[(ns, tuple(sorted(labels.items())))].append(i)
        self.groups = [(ns, dict(lb), np.array(pods, np.int64)) for (ns, lb), pods in groups.items()]
        self.by_ns: dict[int, list[int]] = defaultdict(list)
        for g, (ns, _, _) in enumerate(self.groups):
            self.by_ns[ns].append(g)
        self._peer_pods: dict[tuple, np.ndarray] = {}
        self._selected: dict[str, np.ndarray] = {}

    # ---- classes -----------------------------------------------------------------------------------
    def _selecting(self, direction: str) -> list[tuple[int, ...]]:
        """Per group: the policies selecting its pods for ``direction``, in spec order."""
        d = INGRESS if direction == "ingress" else EGRESS
        pols_by_ns = defaultdict(list)
        for k, p in enumerate(self.policies):
            if d in p.policy_types:
                pols_by_ns[self.pm.policy_ns[k]].append(k)
        return [tuple(k for k in pols_by_ns.get(ns, ()) if matches(self.policies[k].pod_selector, labels))
                for ns, labels, _ in self.groups]

    def _named_ingress(self, pols: tuple[int, ...]) -> tuple[tuple[str, int], ...]:
        return tuple(sorted({(pp.port, pp.protocol) for k in pols for r in self.policies[k].ingress
                             for pp in r.ports if isinstance(pp.port, str)}))

    def _resolve(self, pod: int, names) -> tuple:
        return tuple(next((cp.port for cp in self.pm.pod_ports[pod] if cp.name == n and cp.protocol == proto), -1)
                     for n, proto in names)

    def classes(self, direction: str) -> np.ndarray:
        """int64[ports]: equal for ports whose NetworkPolicy rows are equal (0: none selects it)."""
        selecting = self._selecting(direction)
        out = np.zeros(self.n_ports, np.int64)
        keys: dict[tuple, int] = {(): 0}
        self._selected[direction] = np.empty(len(self.pod_ip), object)
        for (_, _, pods), pols in zip(self.groups, selecting):
            names = self._named_ingress(pols) if direction == "ingress" and pols else ()
            for i in pods:
                self._selected[direction][i] = pols
                key = (pols, self._resolve(int(i), names)) if pols else ()
                out[i] = keys.setdefault(key, len(keys))
        return out

    # ---- rows --------------------------------------------------------------------------------------
    def _pods_of_peer(self, policy_ns: int, peer) -> np.ndarray:
        """Sorted pod rows a selector peer selects."""
        key = (policy_ns, peer.pod_selector, peer.namespace_selector)
        if key not in self._peer_pods:
            if peer.namespace_selector is not None:
                nss = [ns for ns, labels in enumerate(self.pm.ns_labels) if matches(peer.namespace_selector, labels)]
            else:
                nss = [policy_ns]
            picked = [pods for ns in nss for g in self.by_ns.get(ns, ())
                      for _, labels, pods in (self.groups[g],)
                      if peer.pod_selector is None or matches(peer.pod_selector, labels)]
            self._peer_pods[key] = np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)
        return self._peer_pods[key]

    def _peer_prefixes(self, policy_ns: int, peer) -> tuple[np.ndarray, np.ndarray]:
        """A peer's addresses as prefixes: (network uint32[m], length uint8[m]), computed once."""
        key = ("prefixes", policy_ns, peer)
        if key not in self._peer_pods:
            if peer is None:
                pref = (np.zeros(1, np.uint32), np.zeros(1, np.uint8))
            elif peer.ip_block is not None:
                pref = block_prefixes(peer.ip_block)
            else:
                pref = runs_to_prefixes(np.unique(self.pod_ip[self._pods_of_peer(policy_ns, peer)]))
            self._peer_pods[key] = pref
        return self._peer_pods[key]

    def _peer_remote_pods(self, policy_ns: int, peer) -> np.ndarray:
        """Pod rows a peer's addresses hold (for named egress ports, resolved per remote pod)."""
        if peer.ip_block is None:
            return self._pods_of_peer(policy_ns, peer)
        return np.array([i for i, ip in enumerate(self.pm.pod_ip) if peer.ip_block.contains(ip)], np.int64)

    def rows(self, pod: int, direction: str, add) -> bool:
        """Add the rows of the policies selecting ``pod`` for ``direction``, a block at a time,
        through ``add(nets, lengths, proto, lo, hi, policy)`` (arrays of prefixes, one protocol
        and port range, the policy's index); returns whether any selects it (it is isolated)."""
        pols = self._selected[direction][pod]
        for k in pols:
            p = self.policies[k]
            ns = self.pm.policy_ns[k]
            for rule in (p.ingress if direction == "ingress" else p.egress):
                for peer in rule.peers or (None,):
                    nets, lens = self._peer_prefixes(ns, peer)
                    if nets.size == 0:
                        continue
                    for pp in rule.ports or (None,):
                        if pp is None:
                            add(nets, lens, 0, 0, 65535, k)
                        elif pp.port is None:
                            add(nets, lens, pp.protocol, 0, 65535, k)
                        elif isinstance(pp.port, int):
                            add(nets, lens, pp.protocol, pp.port, pp.end_port if pp.end_port is not None else pp.port, k)
                        elif direction == "ingress":
                            num = self._resolve(pod, ((pp.port, pp.protocol),))[0]
                            if num >= 0:
                                add(nets, lens, pp.protocol, num, num, k)
                        else:
                            self._named_egress(ns, peer, pp, k, add)
        return bool(pols)

    def _named_egress(self, ns: int, peer, pp, k: int, add) -> None:
        """An egress named port: per remote pod the peer holds, the number it resolves to there."""
        key = ("named", ns, peer, pp.port, pp.protocol)
        if key not in self._peer_pods:
            remotes = np.arange(len(self.pod_ip)) if peer is None else self._peer_remote_pods(ns, peer)
            by_num: dict[int, list[int]] = defaultdict(list)
            for i in remotes:
                num = self._resolve(int(i), ((pp.port, pp.protocol),))[0]
                if num >= 0:
                    by_num[num].append(int(self.pod_ip[i]))
            self._peer_pods[key] = [(num, runs_to_prefixes(np.unique(np.array(ips, np.uint32))))
                                    for num, ips in sorted(by_num.items())]
        for num, (nets, lens) in self._peer_pods[key]:
            add(nets, lens, pp.protocol, num, num, k)
