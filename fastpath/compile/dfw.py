"""The distributed firewall: admin rules and NetworkPolicy -> classifier tables, one per class of ports.

Why tables per port class
-------------------------
NSX applies DFW rules per vNIC; NCP's rules for a Kubernetes policy are applied to the pods it
selects. At a logical port one address of every packet is the port's own (SpoofGuard holds the
source at the sender's port, routing the destination at the receiver's), so a port's rules
reduce to rules on the *remote* address, protocol and port: one classifier table
(`fastpath.tables.classifier`). Ports whose rules reduce alike share it: the class of a port
and a side (egress: the port is the connection's source; ingress: its destination) is

- which admin rules can match there: the admin rules whose source (egress side) or destination
  (ingress side) prefix holds the port's IP;
- which NetworkPolicies select its pod for that direction, and (ingress side) how the named
  ports those policies use resolve on the pod.

A table's rows, in priority order: those admin rules (remote prefix = the rule's other side),
then the rows of each selecting policy in spec order (remote prefixes of its peers, its ports),
then one catch-all — ``isolated`` when a policy selects the pod for the direction, else the
default. So every lookup finds a row, and the row names the decision
(`fastpath.model.firewall`). NetworkPolicy's exceptions (a pod and its own node always talk; a
pod reaches itself) are the kernel's: a policy or isolation row with the remote = the port's
node IP or its own reads ``local``.

The one address that is not the port's
------------------------------------------
SpoofGuard holds a sender's source address to its port's, and a routed packet reaches the port
that owns its destination address. A frame switched on a segment by its destination MAC, though,
may carry any destination address (a crafted frame); its admin rules must then be read on the
real addresses. The kernel sees it (the local address is not the port's), scans the admin rules
(`dfw_admin_*`, first match), and if none matches looks in the table's *twin*: the same policy
rows and catch-all without admin rows. Only such frames pay the scan.

Output (by `Tables` field name): the classifier's ``cls_*`` arrays; ``dfw_row_decision``
int32[rows]; ``dfw_decision_allow`` uint8[decisions]; ``dfw_table_policy`` uint8[tables] (the
table holds NetworkPolicy: the receiver's port evaluates again); ``dfw_table_twin`` int32[tables]
(the same table without its admin rows, see below); ``dfw_table_const`` int32[tables] (the
decision of a table that is its catch-all alone: no lookup needed); ``dfw_admin_*`` (the admin rules as
columns); ``dfw_n_admin``,
``dfw_local``; ``dfw_decision_names``; and per port ``port_dfw_egress`` /
``port_dfw_ingress`` (packed into the port records by `fastpath.compile.ports`).
"""

from __future__ import annotations

import ipaddress

import numpy as np

from ..model import firewall
from ..model.cluster import Cluster
from ..tables import classifier

ALL = ipaddress.IPv4Network("0.0.0.0/0")


def _membership(ips: np.ndarray, nets: list[ipaddress.IPv4Network]) -> np.ndarray:
    """int32[ports]: a class id per port, equal iff the same set of ``nets`` holds its IP."""
    if not nets:
        return np.zeros(ips.shape[0], np.int32)
    distinct = sorted(set(nets), key=lambda n: (n.prefixlen, int(n.network_address)))
    cols = np.empty((ips.shape[0], len(distinct)), bool)
    for j, n in enumerate(distinct):
        cols[:, j] = (ips & np.uint32(int(n.netmask))) == np.uint32(int(n.network_address))
    packed = np.packbits(cols, axis=1)
    _, inverse = np.unique(packed, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int32)


FIELDS = (("table", np.int64), ("net", np.uint32), ("plen", np.uint8), ("proto", np.uint8), ("lo", np.uint16),
          ("hi", np.uint16), ("decision", np.int32))


class _Rows:
    """Classifier rows under construction: chunks of columns, in priority order."""

    def __init__(self):
        self.chunks: list[tuple] = []
        self.one: list[tuple] = []

    def add(self, table: int, net: ipaddress.IPv4Network, proto: int, lo: int, hi: int, decision: int):
        self.one.append((table, int(net.network_address), net.prefixlen, proto, lo, hi, decision))

    def add_columns(self, *cols):
        self._flush()
        self.chunks.append(cols)

    def _flush(self):
        if self.one:
            self.chunks.append(tuple(np.array(col, dtype) for col, (_, dtype) in zip(zip(*self.one), FIELDS)))
            self.one = []

    def columns(self) -> dict[str, np.ndarray]:
        self._flush()
        return {name: (np.concatenate([ch[j] for ch in self.chunks]).astype(dtype) if self.chunks
                       else np.zeros(0, dtype)) for j, (name, dtype) in enumerate(FIELDS)}


def _admin_columns(rules) -> dict:
    """The admin rules as columns, for the rare evaluation that cannot use a port's table: a
    frame switched to a port by MAC whose destination address is not the port's."""
    u32 = np.uint32
    return {
        "dfw_admin_src_net": np.array([int(r.src.network_address) for r in rules], u32),
        "dfw_admin_src_mask": np.array([int(r.src.netmask) for r in rules], u32),
        "dfw_admin_dst_net": np.array([int(r.dst.network_address) for r in rules], u32),
        "dfw_admin_dst_mask": np.array([int(r.dst.netmask) for r in rules], u32),
        "dfw_admin_proto": np.array([r.proto for r in rules], np.uint8),
        "dfw_admin_lo": np.array([r.dport_lo for r in rules], np.uint16),
        "dfw_admin_hi": np.array([r.dport_hi for r in rules], np.uint16),
    }


def _first_of_equal_rows(cols: dict) -> dict:
    """Rows in priority order without the rows equal to an earlier one of their table (same
    prefix, protocol and ports): those can never be a first match (two policies allowing the
    same peers on the same ports, say)."""
    n = cols["table"].shape[0]
    if n == 0:
        return cols
    u = np.uint64
    k1 = cols["table"].astype(u) << u(40) | cols["plen"].astype(u) << u(32) | cols["net"].astype(u)
    k2 = cols["proto"].astype(u) << u(32) | cols["lo"].astype(u) << u(16) | cols["hi"].astype(u)
    order = np.lexsort((np.arange(n), k2, k1))  # equal rows together, the earliest first
    a, b = k1[order], k2[order]
    starts = np.ones(n, bool)
    starts[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    first = order[starts]
    if first.size == n:
        return cols
    keep = np.sort(first)
    return {k: v[keep] for k, v in cols.items()}


def _const_tables(cols: dict, n_tables: int) -> np.ndarray:
    """int32[tables]: the decision of a table that is one catch-all row (every packet gets it:
    the kernel skips the lookup), else -1."""
    per = np.bincount(cols["table"], minlength=n_tables)
    out = np.full(n_tables, -1, np.int32)
    one = per[cols["table"]] == 1
    out[cols["table"][one]] = cols["decision"][one]
    return out


def compile_dfw(c: Cluster, port_ip: np.ndarray) -> dict:
    """The DFW tables of ``c``; ``port_ip``: the IP of every logical port (pods, then nodes)."""
    d = firewall.decisions(c)
    rules = c.dfw_rules
    n_pods = len(c.pods)
    n_ports = port_ip.shape[0]
    pm = firewall.policy_model(c)
    pol = None
    if pm is not None:
        from .policy import PolicyClasses  # the NetworkPolicy half: selectors, peers, named ports
        pol = PolicyClasses(c, pm, port_ip)

    rows = _Rows()
    tables = []  # per table: uses NetworkPolicy
    policy_only = []  # per table: its twin without the admin rows
    twins: dict[tuple, int] = {}
    port_table = np.empty((2, n_ports), np.int64)
    u32 = np.uint32
    proto = np.array([r.proto for r in rules], np.uint8)
    lo = np.array([r.dport_lo for r in rules], np.uint16)
    hi = np.array([r.dport_hi for r in rules], np.uint16)
    for side, direction in enumerate(("egress", "ingress")):
        local_nets = [r.src if side == 0 else r.dst for r in rules]
        remote_nets = [r.dst if side == 0 else r.src for r in rules]
        l_net = np.array([int(n.network_address) for n in local_nets], u32)
        l_mask = np.array([int(n.netmask) for n in local_nets], u32)
        r_net = np.array([int(n.network_address) for n in remote_nets], u32)
        r_plen = np.array([n.prefixlen for n in remote_nets], np.uint8)
        admin_cls = _membership(port_ip, local_nets)
        pol_cls = np.zeros(n_ports, np.int64) if pol is None else pol.classes(direction)
        key = admin_cls.astype(np.int64) * (int(pol_cls.max()) + 1 if n_ports else 1) + pol_cls
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        port_table[side] = len(tables) + inverse.reshape(-1)

        def policy_rows(t: int, rep: int) -> bool:
            """The table's NetworkPolicy rows and its catch-all; returns whether it isolates."""
            isolated = False
            if pol is not None and rep < n_pods:
                def add(nets, lens, pr, a, b, k):
                    m = nets.size
                    rows.add_columns(np.full(m, t), nets, lens, np.full(m, pr), np.full(m, a), np.full(m, b),
                                     np.full(m, d.policy(k)))

                isolated = pol.rows(rep, direction, add)
            terminal = (d.isolated_egress if side == 0 else d.isolated_ingress) if isolated else d.default
            rows.add(t, ALL, 0, 0, 65535, terminal)
            return isolated

        reps = [int(r) for r in first]
        for rep in reps:
            t = len(tables)
            k = np.nonzero((port_ip[rep] & l_mask) == l_net)[0]
            rows.add_columns(np.full(k.size, t), r_net[k], r_plen[k], proto[k], lo[k], hi[k], k)
            tables.append(policy_rows(t, rep))
            policy_only.append(t if k.size == 0 else -1)
            if k.size == 0:
                twins.setdefault((side, int(pol_cls[rep])), t)
        for t0, rep in enumerate(reps, start=len(tables) - len(reps)):
            if policy_only[t0] < 0:  # the twin a packet whose local address is not the port's uses
                twin = twins.get((side, int(pol_cls[rep])))
                if twin is None:
                    twin = twins[(side, int(pol_cls[rep]))] = len(tables)
                    tables.append(policy_rows(twin, rep))
                    policy_only.append(twin)
                policy_only[t0] = twin
    cols = _first_of_equal_rows(rows.columns())
    cls = classifier.build(cols["table"], cols["net"], cols["plen"], cols["proto"], cols["lo"], cols["hi"],
                           len(tables))
    return {
        **cls,
        "dfw_row_decision": cols["decision"],
        "dfw_decision_allow": np.array(firewall.decision_allows(c), np.uint8),
        "dfw_table_policy": np.array(tables, np.uint8),
        "dfw_table_twin": np.array(policy_only, np.int32),
        "dfw_table_const": _const_tables(cols, len(tables)),
        **_admin_columns(rules),
        "dfw_n_admin": d.n_admin,
        "dfw_local": d.local,
        "dfw_decision_names": firewall.decision_names(c),
        "dfw_reads_l4": bool(np.any(cols["proto"] != 0) or np.any(cols["lo"] != 0) or np.any(cols["hi"] != 65535)),
        "port_dfw_egress": port_table[0],
        "port_dfw_ingress": port_table[1],
    }
