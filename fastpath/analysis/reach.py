"""The connectivity matrix: for every ordered pair of pods, may a new connection pass?

One packet per ordered pair (the first packet of a connection: ``reply`` 0, an ephemeral source
port, the asked protocol and destination port), from the source pod's own interface, all pushed
through the fast path (`fastpath.dataplane.Dataplane`) in one batch. A pair is allowed when the
packet is delivered to the destination pod; ``by`` names what decided it (`fastpath.model.
firewall`): for a DFW drop the decision that denied (``isolated: ingress of y/b``, ``rule X``,
``default``); for a delivered packet the NetworkPolicy or admin rule that allowed it at the
receiver, else at the sender, else None (nothing restricted it); a drop for another reason (no
route, MTU) is named by its reason.

Printed as the Kubernetes e2e suite's reachability tables: sources as rows, destinations as
columns, ``.`` allowed, ``X`` blocked, ``-`` the pod itself (not probed).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..model.cluster import Cluster
from ..packets import INGRESS_POD, make_batch
from ..verdicts import Reason, Verdict

EPHEMERAL_SPORT = 40000
PROTOS = {"tcp": 6, "udp": 17, "sctp": 132}
MAX_PAIRS = 4_000_000
"""Pairs one call may probe (a batch of that many packets is ~0.2 GB with its results)."""


class Reach(NamedTuple):
    proto: str
    port: int
    sources: list[str]  # pod keys, rows
    destinations: list[str]  # pod keys, columns
    allowed: np.ndarray  # bool[S, D]; the diagonal (same pod) False and not probed
    by: list[list[str | None]]  # [S][D]

    @property
    def n_allowed(self) -> int:
        return int(self.allowed.sum())  # the diagonal is never allowed (not probed)

    @property
    def n_pairs(self) -> int:
        """Ordered pairs probed: sources x destinations, each pod with itself left out."""
        return len(self.sources) * len(self.destinations) - len(set(self.sources) & set(self.destinations))

    def pairs(self) -> list[dict]:
        out = []
        for i, s in enumerate(self.sources):
            for j, d in enumerate(self.destinations):
                if s != d:
                    out.append({"src": s, "dst": d, "allowed": bool(self.allowed[i, j]), "by": self.by[i][j]})
        return out

    def as_dict(self) -> dict:
        return {"proto": self.proto, "port": self.port, "pairs": self.pairs()}

    def table(self) -> str:
        """Tab-separated, as the e2e suite prints reachability: ``.`` allowed, ``X`` blocked."""
        lines = ["-\t" + "\t".join(self.destinations)]
        for i, s in enumerate(self.sources):
            cells = ["-" if s == d else ("." if self.allowed[i, j] else "X") for j, d in enumerate(self.destinations)]
            lines.append(s + "\t" + "\t".join(cells))
        return "\n".join(lines)


def select_pods(c: Cluster, pattern: str | None, what: str) -> np.ndarray:
    """Pod rows named by ``NS`` or ``NS/POD`` (None: every pod); LookupError naming ``what``."""
    if pattern is None:
        return np.arange(len(c.pods))
    if "/" in pattern:
        if pattern not in c.pod_index:
            raise LookupError(f"{what}: no pod {pattern!r}")
        return np.array([c.pod_index[pattern]])
    if pattern not in c.namespace_index:
        raise LookupError(f"{what}: no namespace {pattern!r}")
    return np.nonzero(c.pods.namespace == c.namespace_index[pattern])[0]


def reach(c: Cluster, proto: str = "tcp", port: int = 80, src: str | None = None, dst: str | None = None,
          dataplane=None) -> Reach:
    """The matrix for sources ``src`` and destinations ``dst`` (``NS`` or ``NS/POD``; None = all)."""
    from ..dataplane import Dataplane

    if proto not in PROTOS:
        raise ValueError(f"--proto: {proto!r} is not one of {', '.join(PROTOS)}")
    if not 0 <= port <= 65535:
        raise ValueError(f"--port: {port} is outside 0..65535")
    srcs, dsts = select_pods(c, src, "--from"), select_pods(c, dst, "--to")
    if srcs.size * dsts.size > MAX_PAIRS:
        raise ValueError(f"{srcs.size} x {dsts.size} pairs is more than {MAX_PAIRS:,}: narrow it with --from/--to")
    si, di = np.repeat(srcs, dsts.size), np.tile(dsts, srcs.size)
    probe = si != di
    si, di = si[probe], di[probe]
    ip = np.asarray(c.pods.ip)
    batch = make_batch(ingress_kind=INGRESS_POD, ingress_id=si, src_ip=ip[si], dst_ip=ip[di], proto=PROTOS[proto],
                       sport=EPHEMERAL_SPORT, dport=port, ttl=64, length=100)
    dp = dataplane or Dataplane(c)
    r = dp.forward(batch).results
    names = dp.tables.dfw_decision_names
    allow = dp.tables.dfw_decision_allow
    local = dp.tables.dfw_local
    def pod_key(i: int) -> str:
        return c.pods[i].key

    def name(dec: int, port_id: int) -> str | None:
        if dec < 0 or dec >= local:  # local, default: nothing restricted it
            return None
        n = names[dec]
        if n.startswith("isolated"):
            return f"{n} of {pod_key(port_id)}"
        return n

    delivered = r.verdict == Verdict.DELIVERED
    allowed = np.zeros((srcs.size, dsts.size), bool)
    by: list[list[str | None]] = [[None] * dsts.size for _ in range(srcs.size)]
    row = {int(s): k for k, s in enumerate(srcs)}
    col = {int(d): k for k, d in enumerate(dsts)}
    for k in range(si.size):
        a, b = row[int(si[k])], col[int(di[k])]
        at_src, at_dst = int(r.dfw_at_src[k]), int(r.dfw_at_dst[k])
        if delivered[k]:
            allowed[a, b] = True
            by[a][b] = name(at_dst, int(di[k])) or name(at_src, int(si[k]))
        elif r.reason[k] == Reason.DFW_DENY:
            dec, who = (at_dst, int(di[k])) if at_dst >= 0 and not allow[at_dst] else (at_src, int(si[k]))
            by[a][b] = name(dec, who) if dec < local else names[dec]
        else:
            by[a][b] = Reason(int(r.reason[k])).label
    return Reach(proto, port, [pod_key(int(i)) for i in srcs], [pod_key(int(i)) for i in dsts], allowed, by)
