"""Named, seeded traffic profiles: what a scale study offers the cluster, chunk by chunk.

What
----
A profile is a frozen dataclass that says what traffic a planner wants to model: who talks
to whom (its kind and parameters), packet sizes, how packets group into flows, and the
offered load. ``profile.batches(cluster, packets, seed=s, chunk=c)`` yields `PacketBatch`es
of at most ``c`` packets, totalling ``packets`` (``start=k``: from packet k of the same stream,
without making the ones before); ``labelled_batches`` yields each batch with the class of
every packet (an index into ``profile.classes``) for reports and tests.

Kinds (each class's docstring says what it models):

- `Uniform` — pod -> pod, both uniform: the existing `uniform_pod_to_pod`, wrapped.
- `Locality` — a mix of same-node, same-namespace, cross-namespace, pod-to-node and
  north-south traffic, in given shares.
- `HotService` — Zipf-popular destination pods plus named services (kube-dns on UDP 53)
  taking fixed shares of all packets.

Every kind takes the common parameters of `Profile`: ``sizes`` (`fastpath.traffic.sizes`),
``flows``/``flow_zipf``, ``offered_mpps``, ``ttl``, ``proto``.

Built-ins live in `BUILTIN_PROFILES`; a spec's ``traffic.profiles`` section defines more
(the model keeps them as `TrafficProfileDef`); `profile_by_name` looks in the cluster's first.

Packets
-------
Every packet enters at its source pod (ingress POD, the pod's row) with the pod's IP, MACs 0
and untagged: the sender's stack resolves them, as in `uniform_pod_to_pod`. Source ports come
from the Linux ephemeral range 32768..60999, destination ports from the profile's ``dports``
(or the service's port); ICMP packets carry ports 0. No kind but `Uniform` sends a pod to
itself.

Flows
-----
``flows=None``: every packet draws its endpoints and ports anew. ``flows=N``: the profile
draws N flows (each a fixed 5-tuple: source pod, destination, protocol, ports) and every
packet picks one, uniformly or, with ``flow_zipf=s > 0``, flow k with weight k**-s. The
profile's shares then describe flows, and hold for packets in expectation (exactly so as N
grows). Sizes stay per packet. At most N distinct 5-tuples appear; a flow's tuple is a pure
function of (seed, flow id), so no flow table is kept (a Zipf popularity keeps its CDF:
8 bytes per flow).

Randomness and chunking
-----------------------
`fastpath.traffic.words`: packet i's draws come from words of packet i alone (or of its
flow), so the same seed gives the same packets whatever the chunk size, and the first n
packets of any longer run. Word columns per packet: 0 size, 1 flow pick, 2..6 the endpoint
words (class, source, destination, source port, destination port or spare); with flows,
2..6 are replaced by the flow's own five words.

Cost
----
Per cluster and run, once: O(P log P) sorts for the CSR groupings (pods by node, pods by
namespace then node; ~10 int64 columns, 80 bytes per pod) or the Zipf CDF and a permutation
(16 bytes per pod). Per packet a few gathers, numpy over blocks of 65,536 packets; memory is
one chunk plus one block. Measured on the 1M-pod generated cluster (2-core VM, shared): setup
0.5-1 s; uniform ~7 Mpps, locality and hot_service ~2.5-3 Mpps, locality over 1M Zipf flows
~1.7 Mpps. The fast path forwards ~2 Mpps per thread there, so generation is of the same
order: a numba kernel per kind is the next step if profile runs need it.
"""

from __future__ import annotations

import ipaddress
import math
import numbers
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np

from ..limits import MAX_FLOWS
from ..model.addressing import net_from_str
from ..model.cluster import DNS_SERVICE_DEFAULTS, PROTO_NUMBERS, TRAFFIC_KINDS, Cluster, TrafficProfileDef
from ..packets import INGRESS_POD, PacketBatch, make_batch
from .chunks import Maker, check_run
from .sizes import Sizes, fixed, imix, sizes_from_spec
from .uniform import DEFAULT_CHUNK, uniform_maker
from .words import below, block_words, flow_words, pick_cdf, unit_floats, zipf_cdf

EPHEMERAL_PORTS = (32768, 60999)
"""Source ports: Linux's default ``ip_local_port_range``."""

DEFAULT_DPORTS = (80, 443, 8080)
"""Destination ports of a profile that does not say: web, TLS, the usual app port."""

NORTH_SOUTH_DEFAULT = "198.18.0.0/15"
"""Outside addresses of north-south traffic: the benchmarking range (RFC 2544), never a
cluster's own."""

PROTO_ICMP = 1
_ENDPOINT_WORDS = 5
_W_SIZE, _W_FLOW, _W_ENDPOINT = 0, 1, 2


class Endpoints(NamedTuple):
    """What a profile's kind decides for n packets (or flows), from their endpoint words."""

    src: np.ndarray  # int64[n] source pod row
    dst_ip: np.ndarray  # uint32[n]
    proto: np.ndarray  # uint8[n]
    sport: np.ndarray  # uint16[n]
    dport: np.ndarray  # uint16[n]
    cls: np.ndarray  # uint8[n] index into the profile's classes


def _finite(x, lo: float, name: str, *, strict: bool = False) -> None:
    ok = isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
    if not ok or (x <= lo if strict else x < lo):
        raise ValueError(f"{name}: {x!r} must be a finite number {'>' if strict else '>='} {lo:g}")


# ---- the profile base ---------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Profile:
    """Common to every kind.

    name — what reports call it
    sizes — IP total lengths (`Sizes`: ``fixed(n)``, ``imix()``, ``histogram(...)``)
    flows — None: every packet draws anew; N: packets belong to N fixed 5-tuples
    flow_zipf — flow popularity: 0 uniform, s > 0 Zipf (flow k weighs k**-s)
    offered_mpps — the offered load the planner models, millions of packets per second: a
      load report turns packet counts into rates with it (default 1.0)
    ttl — TTL as sent
    proto — IP protocol of the kind's ordinary packets (services carry their own)
    reply_ratio — the share of packets that are replies (0..1, default 0): a reply is its
      connection's packet the other way, sent by the original's destination (a pod, a node, or
      from outside through the first uplink) with ports swapped and ``reply`` set, so the
      stateful DFW judges it as its original (`fastpath.model.firewall`)
    """

    name: str = ""
    sizes: Sizes = field(default_factory=imix)
    flows: int | None = None
    flow_zipf: float = 0.0
    offered_mpps: float = 1.0
    ttl: int = 64
    proto: int = 6
    reply_ratio: float = 0.0

    kind: ClassVar[str] = ""
    stream: ClassVar[int] = 0  # keeps the word streams of different kinds apart

    def __post_init__(self):
        if not isinstance(self.sizes, Sizes):
            object.__setattr__(self, "sizes", sizes_from_spec(self.sizes))
        if isinstance(self.proto, str):
            object.__setattr__(self, "proto", _proto_number(self.proto))
        if self.flows is not None and (isinstance(self.flows, bool) or int(self.flows) != self.flows or self.flows < 1):
            raise ValueError(f"flows: {self.flows!r} must be an integer >= 1 (or None)")
        if self.flows is not None and self.flows > MAX_FLOWS:
            raise ValueError(f"flows: {self.flows:,} is more than the {MAX_FLOWS:,} flows fastpath keeps "
                             "(fastpath.limits: 8 bytes of popularity a flow)")
        _finite(self.flow_zipf, 0, "flow_zipf")
        if self.flow_zipf and self.flows is None:
            raise ValueError("flow_zipf is the popularity of flows: give flows too")
        _finite(self.offered_mpps, 0, "offered_mpps", strict=True)
        if not 1 <= self.ttl <= 255:
            raise ValueError(f"ttl: {self.ttl!r} must be in 1..255")
        if not 1 <= self.proto <= 255:
            raise ValueError(f"proto: {self.proto!r} must be in 1..255")
        _finite(self.reply_ratio, 0, "reply_ratio")
        if self.reply_ratio > 1:
            raise ValueError(f"reply_ratio: {self.reply_ratio!r} must be in 0..1")

    # ---- what it offers ----
    @property
    def classes(self) -> tuple[str, ...]:
        """Names of the packet classes ``labelled_batches`` reports."""
        return ("pod_to_pod",)

    @property
    def offered_pps(self) -> float:
        return self.offered_mpps * 1e6

    @property
    def offered_gbps(self) -> float:
        """Offered IP bytes per second as Gb/s (inner packets, no framing or encapsulation)."""
        return self.offered_pps * self.sizes.mean_length * 8 / 1e9

    def describe(self) -> str:
        """One line: the workload as a report prints it before its figures."""
        flows = "per-packet" if self.flows is None else \
            f"{self.flows} flows {'uniform' if self.flow_zipf == 0 else f'zipf {self.flow_zipf:g}'}"
        return (f"{self.name} ({self.kind}{self._describe_kind()}); sizes {self.sizes.describe()}; {flows}; "
                f"offered {self.offered_mpps:g} Mpps = {self.offered_gbps:.2f} Gb/s")

    def _describe_kind(self) -> str:
        return ""

    # ---- packets ----
    def batches(self, cluster: Cluster, packets: int, *, seed: int = 0, chunk: int = DEFAULT_CHUNK,
                start: int = 0, pool: Executor | None = None, workers: int = 1) -> Iterator[PacketBatch]:
        """Yield batches of at most ``chunk`` packets, ``packets`` in all, from packet ``start``
        of the seed's stream. Same seed, same packets, whatever ``chunk``; ``start`` costs the
        blocks it skips into, not the packets before it. ``pool``, ``workers``: each batch made
        in parts at once (`Maker.batches`)."""
        check_run(packets, seed, chunk, start)
        yield from self.maker(cluster, seed).batches(start, packets, chunk, pool, workers)

    def labelled_batches(self, cluster: Cluster, packets: int, *, seed: int = 0, chunk: int = DEFAULT_CHUNK,
                         start: int = 0) -> Iterator[tuple[PacketBatch, np.ndarray]]:
        """As `batches`, each with uint8[n]: every packet's class (index into ``classes``)."""
        check_run(packets, seed, chunk, start)
        maker = self.maker(cluster, seed)
        for cols in maker.columns(start, packets, chunk):
            batch = maker.batch(cols)
            yield batch, cols["cls"] if "cls" in cols else np.zeros(batch.size, np.uint8)

    def maker(self, cluster: Cluster, seed: int) -> Maker:
        """How this profile makes its packets block by block (`chunks.Maker`), its per-run
        tables prepared once."""
        ctx = self._prepare(cluster, seed)
        pod_ip = cluster.pods.ip
        flow_cdf = zipf_cdf(self.flows, self.flow_zipf) if self.flows is not None and self.flow_zipf > 0 else None

        def block(j: int, m: int) -> dict:
            w = block_words(seed, self.stream, j, m, _W_ENDPOINT + _ENDPOINT_WORDS)
            if self.flows is None:
                ew = w[:, _W_ENDPOINT:]
            else:
                wf = w[:, _W_FLOW]
                fid = below(wf, self.flows) if flow_cdf is None else pick_cdf(flow_cdf, wf)
                ew = flow_words(seed, self.stream, fid, _ENDPOINT_WORDS)
            ep = self._endpoints(ctx, ew)
            cols = {"src": ep.src, "dst_ip": ep.dst_ip, "proto": ep.proto, "sport": ep.sport, "dport": ep.dport,
                    "cls": ep.cls, "length": self.sizes.draw(w[:, _W_SIZE])}
            if self.reply_ratio > 0:  # its own word stream: the packets above stay as they were
                cols["reply"] = unit_floats(block_words(seed, self.stream + REPLY_STREAM, j, m, 1)[:, 0]) \
                    < self.reply_ratio
            return cols

        senders = _Senders(cluster) if self.reply_ratio > 0 else None

        def batch(cols: dict) -> PacketBatch:
            n = cols["src"].shape[0]
            b = dict(ingress_kind=np.full(n, INGRESS_POD, np.uint8), ingress_id=cols["src"],
                     src_ip=pod_ip[cols["src"]], dst_ip=cols["dst_ip"], proto=cols["proto"],
                     sport=cols["sport"], dport=cols["dport"], ttl=self.ttl, length=cols["length"])
            if "reply" in cols:
                senders.reverse(b, cols["reply"])
            return make_batch(**b)

        return Maker(block, batch)

    # ---- what a kind provides ----
    def _prepare(self, cluster: Cluster, seed: int):
        """Per run, once: whatever the kind looks up per packet (groupings, CDFs)."""
        raise NotImplementedError

    def _endpoints(self, ctx, words: np.ndarray) -> Endpoints:
        """Endpoints, protocol, ports and class of n packets from their uint64[n, 5] words."""
        raise NotImplementedError

    def _l4(self, words: np.ndarray, dports: tuple[int, ...]):
        """proto, sport, dport of ordinary packets: ephemeral source, a port of ``dports``."""
        n = words.shape[0]
        proto = np.full(n, self.proto, np.uint8)
        if self.proto == PROTO_ICMP:
            return proto, np.zeros(n, np.uint16), np.zeros(n, np.uint16)
        lo, hi = EPHEMERAL_PORTS
        sport = (lo + below(words[:, 3], hi - lo + 1)).astype(np.uint16)
        dport = np.asarray(dports, np.uint16)[below(words[:, 4], len(dports))]
        return proto, sport, dport


REPLY_STREAM = 1 << 20
"""Offset of the word stream that picks replies from a kind's own."""


class _Senders:
    """Who sends a reply: the endpoint that owns the original's destination address."""

    def __init__(self, c: Cluster):
        from ..packets import INGRESS_NODE, INGRESS_UPLINK
        ips = np.concatenate([np.asarray(c.pods.ip, np.uint32), np.array([n.ip for n in c.nodes], np.uint32)])
        kinds = np.concatenate([np.full(len(c.pods), INGRESS_POD, np.uint8),
                                np.full(len(c.nodes), INGRESS_NODE, np.uint8)])
        ids = np.concatenate([np.arange(len(c.pods)), np.arange(len(c.nodes))]).astype(np.int32)
        order = np.argsort(ips, kind="stable")
        self.ips, self.kinds, self.ids = ips[order], kinds[order], ids[order]
        self.outside = (INGRESS_UPLINK, 0) if c.uplinks else None
        self.c = c
        self.n_pods = len(c.pods)

    def reverse(self, b: dict, reply: np.ndarray) -> None:
        """Turn the packets ``reply`` marks in batch columns ``b`` into their replies. A reply to
        a Service's cluster IP comes from the backend kube-proxy sent the connection to (the
        seeded hash, `fastpath.tables.services`), addressed from the cluster IP as its client
        sees it; the data plane sends it from the backend's own address."""
        k = np.nonzero(reply)[0]
        if k.size == 0:
            return
        dst = np.asarray(b["dst_ip"], np.uint32)[k]
        at = np.minimum(np.searchsorted(self.ips, dst), max(self.ips.size - 1, 0))
        own = (self.ips[at] == dst) if self.ips.size else np.zeros(k.size, bool)
        be = np.full(k.size, -1, np.int64)
        if self.c.services:
            from ..tables.services import backend_ports, of_cluster
            st = of_cluster(self.c)
            vip = ((dst & st.mask) == st.net) & ~own
            if vip.any():
                col = lambda name: np.broadcast_to(np.asarray(b[name]), (len(b["src_ip"]),))[k[vip]]  # noqa: E731
                be[vip] = backend_ports(st, col("src_ip"), dst[vip], col("proto"), col("sport"), col("dport"))
                keep = ~vip | (be >= 0)  # a connection no backend took has no reply: stays original
                k, at, own, dst, be = k[keep], at[keep], own[keep], dst[keep], be[keep]
        if self.outside is None and not (own | (be >= 0)).all():
            keep = own | (be >= 0)  # no uplink to answer through: stays original
            k, at, own, dst, be = k[keep], at[keep], own[keep], dst[keep], be[keep]
        kind = np.where(own, self.kinds[at], self.outside[0] if self.outside else 0)
        iid = np.where(own, self.ids[at], self.outside[1] if self.outside else 0)
        from ..packets import INGRESS_NODE
        served = be >= 0
        kind = np.where(served, np.where(be < self.n_pods, INGRESS_POD, INGRESS_NODE), kind)
        iid = np.where(served, np.where(be < self.n_pods, be, be - self.n_pods), iid)
        for name in ("ingress_kind", "ingress_id", "src_ip", "dst_ip", "sport", "dport"):
            b[name] = np.array(b[name], copy=True)
        b["ingress_kind"][k], b["ingress_id"][k] = kind, iid
        b["dst_ip"][k], b["src_ip"][k] = b["src_ip"][k], dst
        b["sport"][k], b["dport"][k] = b["dport"][k], b["sport"][k]
        flag = np.zeros(len(b["src_ip"]), np.uint8)
        flag[k] = 1
        b["reply"] = flag


def _need_pods(cluster: Cluster, who: str) -> int:
    P = len(cluster.pods)
    if P == 0:
        raise ValueError(f"{who}: the cluster has no pods to send from")
    return P


# ---- uniform ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Uniform(Profile):
    """Pod -> pod, source and destination each uniform over all pods (a pod may draw itself):
    no locality at all, the worst case for tunnels. Without flows and with fixed sizes these
    are exactly `uniform_pod_to_pod`'s packets (random ports, UDP, 100 bytes by default);
    other sizes replace its lengths. With flows, each flow draws its pair the same way."""

    name: str = "uniform"
    sizes: Sizes = field(default_factory=lambda: fixed(100))
    proto: int = 17

    kind: ClassVar[str] = "uniform"
    stream: ClassVar[int] = 1

    def maker(self, cluster, seed):
        if self.flows is not None or self.reply_ratio > 0:
            return super().maker(cluster, seed)
        _need_pods(cluster, self.name)
        fixed_length = self.sizes.lengths[0] if len(self.sizes.lengths) == 1 else None
        return uniform_maker(cluster, seed=seed, length=fixed_length or 100, ttl=self.ttl, proto=self.proto,
                             lengths=None if fixed_length is not None else
                             lambda j, m: self.sizes.draw(block_words(seed, self.stream, j, m, 1)[:, 0]))

    def _prepare(self, cluster, seed):
        return _need_pods(cluster, self.name), cluster.pods.ip

    def _endpoints(self, ctx, words):
        P, pod_ip = ctx
        n = words.shape[0]
        ports = words[:, 2]  # as uniform_pod_to_pod: source port >= 1024, any destination port
        return Endpoints(src=below(words[:, 0], P), dst_ip=pod_ip[below(words[:, 1], P)],
                         proto=np.full(n, self.proto, np.uint8),
                         sport=((ports & np.uint64(0xFFFF)) | np.uint64(1024)).astype(np.uint16),
                         dport=((ports >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.uint16),
                         cls=np.zeros(n, np.uint8))


# ---- locality -----------------------------------------------------------------------------------
MIX_CLASSES = ("same_node", "same_namespace", "cross_namespace", "pod_to_node", "north_south")


@dataclass(frozen=True)
class Mix:
    """Shares of the locality classes (normalised when used). The defaults sketch a typical
    microservice cluster: most traffic inside the cluster, two fifths of it between
    namespaces (frontends to backends), a tenth each on the same node, to nodes (kubelet,
    host-network daemons) and to the outside."""

    same_node: float = 0.1
    same_namespace: float = 0.3
    cross_namespace: float = 0.4
    pod_to_node: float = 0.1
    north_south: float = 0.1

    def __post_init__(self):
        for k in MIX_CLASSES:
            _finite(getattr(self, k), 0, f"mix.{k}")
        if sum(self.values()) <= 0:
            raise ValueError("mix: the shares sum to 0")

    def values(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, k)) for k in MIX_CLASSES)

    @property
    def shares(self) -> np.ndarray:
        v = np.asarray(self.values())
        return v / v.sum()


class _LocalityTables(NamedTuple):
    """CSR groupings of one cluster's pods (rows sorted, with start offsets)."""

    P: int
    pod_ip: np.ndarray  # uint32[P]
    node: np.ndarray  # int64[P] node of each pod
    ns: np.ndarray  # int64[P] namespace of each pod
    by_node: np.ndarray  # int64[P] pod rows sorted by node
    node_start: np.ndarray  # int64[N+1] node n's pods are by_node[node_start[n]:node_start[n+1]]
    pos_node: np.ndarray  # int64[P] where pod p sits in by_node
    by_ns: np.ndarray  # int64[P] pod rows sorted by (namespace, node)
    ns_start: np.ndarray  # int64[NS+1] namespace k's pods are by_ns[ns_start[k]:ns_start[k+1]]
    pos_ns: np.ndarray  # int64[P] where pod p sits in by_ns
    run_lo: np.ndarray  # int64[P] pods of p's namespace on p's node: by_ns[run_lo[p]:run_hi[p]]
    run_hi: np.ndarray
    node_ip: np.ndarray  # uint32[N]
    source: np.ndarray  # int64[*] pods that can send each class, class after class
    source_start: np.ndarray  # int64[6] class c's senders are source[source_start[c]:source_start[c+1]]
    cum: np.ndarray  # float64[5] cumulative class shares
    outside_base: int
    outside_size: int


def cluster_networks(cluster: Cluster) -> list[ipaddress.IPv4Network]:
    """Every network the cluster owns: pod CIDR and namespace subnets, the node segment, the
    router-link CIDR, the TEP CIDR, the uplink subnets."""
    st = cluster.settings
    nets = [st.pod_cidr, st.link_cidr, st.tep_cidr, cluster.node_segment.subnet]
    nets += [s.subnet for s in cluster.namespaces]
    nets += [ipaddress.IPv4Network((u.ip, u.prefixlen), strict=False) for u in cluster.uplinks]
    return nets


@dataclass(frozen=True, kw_only=True)
class Locality(Profile):
    """Where traffic goes relative to its source, in shares (`Mix`):

    - same_node — another pod on the source's node (stays inside one OVS bridge, no tunnel);
    - same_namespace — another pod of the source's namespace, on another node when the
      namespace has one (one segment, usually a tunnel);
    - cross_namespace — a pod of another namespace (T1 -> T0 -> T1, the DFW's busiest case);
    - pod_to_node — a node IP, any node (kubelet, node-local daemons, host-network pods);
    - north_south — an address of ``outside`` (default 198.18.0.0/15), out through the T0.

    Sources are uniform over the pods that can send each class (a pod alone on its node
    sends no same_node traffic; one alone in its namespace no same_namespace), so the shares
    hold exactly; a class with a positive share that no pod can send is an error. Ports:
    ephemeral -> ``dports``; protocol ``proto`` (TCP)."""

    name: str = "locality"
    mix: Mix = field(default_factory=Mix)
    outside: str = NORTH_SOUTH_DEFAULT
    dports: tuple[int, ...] = DEFAULT_DPORTS

    kind: ClassVar[str] = "locality"
    stream: ClassVar[int] = 2

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.mix, dict):
            object.__setattr__(self, "mix", Mix(**{k: self.mix.get(k, 0.0) for k in MIX_CLASSES}))
        object.__setattr__(self, "dports", _dports(self.dports))
        try:
            net_from_str(self.outside)
        except ValueError as exc:
            raise ValueError(f"outside: {exc}") from None

    @property
    def classes(self) -> tuple[str, ...]:
        return MIX_CLASSES

    def _describe_kind(self) -> str:
        return " " + ", ".join(f"{k} {v:.2f}" for k, v in zip(MIX_CLASSES, self.mix.shares))

    def _prepare(self, cluster: Cluster, seed: int) -> _LocalityTables:
        P = _need_pods(cluster, self.name)
        N, NS = len(cluster.nodes), len(cluster.namespaces)
        pods = cluster.pods
        node = pods.node.astype(np.int64)
        ns = pods.namespace.astype(np.int64)
        rows = np.arange(P, dtype=np.int64)

        by_node = np.argsort(node, kind="stable")
        node_cnt = np.bincount(node, minlength=N)
        node_start = np.concatenate([[0], np.cumsum(node_cnt)])
        pos_node = np.empty(P, np.int64)
        pos_node[by_node] = rows

        key = ns * N + node
        by_ns = np.argsort(key, kind="stable")
        key_sorted = key[by_ns]
        ns_cnt = np.bincount(ns, minlength=NS)
        ns_start = np.concatenate([[0], np.cumsum(ns_cnt)])
        pos_ns = np.empty(P, np.int64)
        pos_ns[by_ns] = rows
        # runs of equal (namespace, node) in by_ns: start and end of each pod's run, O(P)
        new_run = np.concatenate([[True], key_sorted[1:] != key_sorted[:-1]])
        starts = np.flatnonzero(new_run)
        run_id = np.cumsum(new_run) - 1
        run_lo = np.empty(P, np.int64)
        run_hi = np.empty(P, np.int64)
        run_lo[by_ns] = starts[run_id]
        run_hi[by_ns] = np.concatenate([starts[1:], [P]])[run_id]

        senders = [np.flatnonzero(node_cnt[node] >= 2), np.flatnonzero(ns_cnt[ns] >= 2),
                   np.flatnonzero(ns_cnt[ns] < P), rows, rows]
        why = ["no node has two pods", "no namespace has two pods", "all pods are in one namespace"]
        shares = self.mix.shares
        for c in range(3):
            if shares[c] > 0 and not len(senders[c]):
                raise ValueError(f"{self.name}: mix gives {MIX_CLASSES[c]} a share but {why[c]}")

        outside = net_from_str(self.outside)
        if shares[4] > 0:
            for net in cluster_networks(cluster):
                if outside.overlaps(net):
                    raise ValueError(f"{self.name}: outside {outside} overlaps the cluster's {net}")
        return _LocalityTables(
            P=P, pod_ip=pods.ip, node=node, ns=ns, by_node=by_node, node_start=node_start, pos_node=pos_node,
            by_ns=by_ns, ns_start=ns_start, pos_ns=pos_ns, run_lo=run_lo, run_hi=run_hi,
            node_ip=np.array([n.ip for n in cluster.nodes], np.uint32),
            source=np.concatenate(senders).astype(np.int64),
            source_start=np.concatenate([[0], np.cumsum([len(s) for s in senders])]).astype(np.int64),
            cum=np.cumsum(shares), outside_base=int(outside.network_address), outside_size=int(outside.num_addresses))

    def _endpoints(self, t: _LocalityTables, words: np.ndarray) -> Endpoints:
        n = words.shape[0]
        cls = np.minimum(np.searchsorted(t.cum, unit_floats(words[:, 0]), side="right"), len(MIX_CLASSES) - 1)
        count = t.source_start[cls + 1] - t.source_start[cls]  # > 0 for every class with a share
        src = t.source[t.source_start[cls] + below(words[:, 1], np.maximum(count, 1))]
        wd = words[:, 2]
        dst_ip = np.empty(n, np.uint32)

        m = np.flatnonzero(cls == 0)  # same_node: the next pods around the source on its node
        if m.size:
            s = src[m]
            start = t.node_start[t.node[s]]
            cnt = t.node_start[t.node[s] + 1] - start
            k = below(wd[m], cnt - 1)
            dst_ip[m] = t.pod_ip[t.by_node[start + (t.pos_node[s] - start + 1 + k) % cnt]]

        m = np.flatnonzero(cls == 1)  # same_namespace: off the source's node if the namespace is
        if m.size:
            s = src[m]
            a, b = t.ns_start[t.ns[s]], t.ns_start[t.ns[s] + 1]
            lo, hi = t.run_lo[s], t.run_hi[s]
            others = (b - a) - (hi - lo)  # pods of the namespace on other nodes
            k = below(wd[m], np.maximum(others, 1))
            off_node = np.where(k < lo - a, a + k, hi + (k - (lo - a)))
            run = hi - lo
            k2 = below(wd[m], np.maximum(run - 1, 1))
            on_node = lo + (t.pos_ns[s] - lo + 1 + k2) % run
            dst_ip[m] = t.pod_ip[t.by_ns[np.where(others > 0, off_node, on_node)]]

        m = np.flatnonzero(cls == 2)  # cross_namespace: any pod outside the source's namespace
        if m.size:
            s = src[m]
            a = t.ns_start[t.ns[s]]
            size = t.ns_start[t.ns[s] + 1] - a
            k = below(wd[m], t.P - size)
            dst_ip[m] = t.pod_ip[t.by_ns[np.where(k < a, k, k + size)]]

        m = np.flatnonzero(cls == 3)  # pod_to_node
        if m.size:
            dst_ip[m] = t.node_ip[below(wd[m], len(t.node_ip))]

        m = np.flatnonzero(cls == 4)  # north_south
        if m.size:
            dst_ip[m] = (t.outside_base + below(wd[m], t.outside_size)).astype(np.uint32)

        proto, sport, dport = self._l4(words, self.dports)
        return Endpoints(src, dst_ip, proto, sport, dport, cls.astype(np.uint8))


def _dports(ports) -> tuple[int, ...]:
    ports = tuple(int(p) for p in ports)
    if not ports or any(not 0 <= p <= 65535 for p in ports):
        raise ValueError(f"dports: {ports!r} must be one or more ports in 0..65535")
    return ports


# ---- hot service --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceShare:
    """A named service that takes ``share`` of all packets on ``proto``/``port``: to the cluster
    IP of the Kubernetes Service ``service`` (``namespace/name``; kube-proxy then picks the
    backend), or straight to its pods (uniformly), picked by label ``selector`` or by pod keys
    ``pods``. `ServiceShare.dns` is kube-dns on UDP 53: through the cluster's Service
    kube-system/kube-dns when it has one with that port, else to the pods labelled
    k8s-app=kube-dns."""

    name: str
    share: float
    selector: tuple[tuple[str, str], ...] = ()
    pods: tuple[str, ...] = ()
    proto: int = 6
    port: int = 80
    service: str = ""

    def __post_init__(self):
        if isinstance(self.selector, dict):
            object.__setattr__(self, "selector", tuple(sorted(self.selector.items())))
        object.__setattr__(self, "pods", tuple(self.pods))
        _finite(self.share, 0, f"service {self.name}: share")
        if self.share > 1:
            raise ValueError(f"service {self.name}: share {self.share} is above 1")
        if bool(self.selector) + bool(self.pods) + bool(self.service) != 1:
            raise ValueError(f"service {self.name}: give a Kubernetes Service, a label selector or pod keys (one of them)")
        if not 1 <= self.proto <= 255 or not 0 <= self.port <= 65535:
            raise ValueError(f"service {self.name}: proto {self.proto} / port {self.port} out of range")

    @classmethod
    def dns(cls, share: float = 0.1) -> ServiceShare:
        d = DNS_SERVICE_DEFAULTS
        return cls("dns", share, selector=dict(d["selector"]), proto=PROTO_NUMBERS[d["proto"]], port=d["port"])

    def cluster_ip(self, cluster: Cluster) -> int:
        """The cluster IP its packets go to; 0 = straight to its pods. ValueError if ``service``
        names no Service of the cluster with a cluster IP and this port."""
        key = self.service or ("kube-system/kube-dns" if self.name == "dns" else "")
        k = cluster.service_index.get(key) if key else None
        if k is not None:
            svc = cluster.services[k]
            if svc.cluster_ip is not None and any(sp.proto == self.proto and sp.port == self.port for sp in svc.ports):
                return svc.cluster_ip
        if self.service:
            raise ValueError(f"service {self.name}: the cluster has no Service {self.service} with a cluster IP "
                             f"and port {self.port} (protocol {self.proto})")
        return 0

    def pod_rows(self, cluster: Cluster) -> np.ndarray:
        """int64 rows of its pods (for a Service: its backends' pods); ValueError if it selects none."""
        if self.service:
            k = cluster.service_index[self.service]
            rows = sorted({b.lport for bs in cluster.services[k].backends for b in bs if 0 <= b.lport < len(cluster.pods)})
            return np.array(rows or [0], np.int64)
        if self.pods:
            missing = [k for k in self.pods if k not in cluster.pod_index]
            if missing:
                raise ValueError(f"service {self.name}: unknown pod {missing[0]!r}")
            return np.array([cluster.pod_index[k] for k in self.pods], np.int64)
        sel = dict(self.selector)
        labels = cluster.pods.labels or []
        rows = np.array([i for i, lb in enumerate(labels) if lb and all(lb.get(k) == v for k, v in sel.items())],
                        np.int64)
        if not rows.size:
            raise ValueError(f"service {self.name}: no pod has the label(s) "
                             + ", ".join(f"{k}={v}" for k, v in self.selector))
        return rows


class _HotTables(NamedTuple):
    P: int
    pod_ip: np.ndarray  # uint32[P]
    rank_pod: np.ndarray  # int64[P] pod of each popularity rank (a seeded permutation)
    cdf: np.ndarray  # float64[P] Zipf CDF over ranks
    cum: np.ndarray  # float64[S+1] cumulative shares: services first, the Zipf rest last
    svc_rows: np.ndarray  # int64[*] pods of each service, service after service
    svc_start: np.ndarray  # int64[S+1]
    svc_proto: np.ndarray  # uint8[S]
    svc_port: np.ndarray  # uint16[S]
    svc_vip: np.ndarray  # uint32[S]: the cluster IP its packets go to; 0 = to its pods


@dataclass(frozen=True, kw_only=True)
class HotService(Profile):
    """Popularity skew: a few pods draw most of the traffic, as behind a busy API or cache.

    Destinations are Zipf over all pods: the pod of popularity rank k (a seeded permutation
    of the pods, so the hot ones are not just the first rows) weighs k**-s (``s`` 1.1 by
    default; 0 is uniform). On top, each of ``services`` takes its ``share`` of all packets
    to its own pods on its own port (`ServiceShare.dns`: kube-dns on UDP 53). Sources are
    uniform over the other pods. Classes: "zipf", then the services by name."""

    name: str = "hot_service"
    s: float = 1.1
    services: tuple[ServiceShare, ...] = ()
    dports: tuple[int, ...] = DEFAULT_DPORTS

    kind: ClassVar[str] = "hot_service"
    stream: ClassVar[int] = 3

    def __post_init__(self):
        super().__post_init__()
        _finite(self.s, 0, "s")
        object.__setattr__(self, "services", tuple(self.services))
        object.__setattr__(self, "dports", _dports(self.dports))
        names = [x.name for x in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"services: duplicate names in {names}")
        if sum(x.share for x in self.services) > 1 + 1e-9:
            raise ValueError("services: the shares sum to more than 1")

    @property
    def classes(self) -> tuple[str, ...]:
        return ("zipf",) + tuple(x.name for x in self.services)

    def _describe_kind(self) -> str:
        return f" s {self.s:g}" + "".join(f", {x.name} {x.share:g}" for x in self.services)

    def _prepare(self, cluster: Cluster, seed: int) -> _HotTables:
        P = _need_pods(cluster, self.name)
        rank_pod = np.random.default_rng([seed, self.stream, 0x7A1]).permutation(P).astype(np.int64)
        vips = [x.cluster_ip(cluster) for x in self.services]
        rows = [x.pod_rows(cluster) if not v or x.service else np.zeros(1, np.int64) for x, v in zip(self.services, vips)]
        shares = [x.share for x in self.services]
        return _HotTables(
            P=P, pod_ip=cluster.pods.ip, rank_pod=rank_pod, cdf=zipf_cdf(P, self.s),
            cum=np.cumsum(shares + [max(0.0, 1.0 - sum(shares))]),
            svc_rows=np.concatenate(rows + [np.zeros(0, np.int64)]),
            svc_start=np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64),
            svc_proto=np.array([x.proto for x in self.services], np.uint8),
            svc_port=np.array([x.port for x in self.services], np.uint16),
            svc_vip=np.array(vips, np.uint32))

    def _endpoints(self, t: _HotTables, words: np.ndarray) -> Endpoints:
        S = len(self.services)
        pick = np.minimum(np.searchsorted(t.cum, unit_floats(words[:, 0]), side="right"), S)  # S = the Zipf rest
        dst = t.rank_pod[pick_cdf(t.cdf, words[:, 2])]
        proto, sport, dport = self._l4(words, self.dports)
        svc = np.flatnonzero(pick < S)
        if svc.size:
            j = pick[svc]
            start = t.svc_start[j]
            dst[svc] = t.svc_rows[start + below(words[svc, 2], t.svc_start[j + 1] - start)]
            proto[svc] = t.svc_proto[j]
            sport[svc] = (EPHEMERAL_PORTS[0] + below(words[svc, 3], EPHEMERAL_PORTS[1] - EPHEMERAL_PORTS[0] + 1))
            dport[svc] = t.svc_port[j]
        dst_ip = t.pod_ip[dst]
        if svc.size and t.svc_vip.any():
            vip = t.svc_vip[pick[svc]]
            dst_ip[svc] = np.where(vip != 0, vip, dst_ip[svc])
        icmp = proto == PROTO_ICMP
        sport[icmp] = 0
        dport[icmp] = 0
        src = (dst + 1 + below(words[:, 1], t.P - 1)) % t.P if t.P > 1 else dst.copy()
        cls = np.where(pick < S, pick + 1, 0).astype(np.uint8)
        return Endpoints(src, dst_ip, proto, sport, dport, cls)


# ---- registry -----------------------------------------------------------------------------------
KINDS: dict[str, type[Profile]] = {"uniform": Uniform, "locality": Locality, "hot_service": HotService}
assert tuple(KINDS) == TRAFFIC_KINDS

BUILTIN_PROFILES: dict[str, Profile] = {
    p.name: p for p in (
        Uniform(),
        Locality(),
        Locality(name="east_west", mix=Mix(same_node=0.1, same_namespace=0.4, cross_namespace=0.4, pod_to_node=0.1,
                                           north_south=0.0)),
        Locality(name="north_south", mix=Mix(0.0, 0.0, 0.0, 0.0, 1.0)),
        HotService(),
        HotService(name="hot_dns", services=(ServiceShare.dns(0.2),)),
    )
}
"""Profiles every cluster can name (hot_dns needs pods labelled k8s-app=kube-dns):

- uniform — `Uniform` as `fastpath run` sends it (UDP, 100 bytes, random ports)
- locality — `Locality` with the default `Mix` (0.1/0.3/0.4/0.1/0.1), IMIX
- east_west — `Locality` without north-south (0.1/0.4/0.4/0.1/0), IMIX
- north_south — `Locality`, every packet to 198.18.0.0/15, IMIX
- hot_service — `HotService`, Zipf s = 1.1 over destination pods, IMIX
- hot_dns — the same with 20% of packets to kube-dns on UDP 53
"""


def profile_from_params(name: str, kind: str, params: dict) -> Profile:
    """A profile from spec-style parameters (what ``traffic.profiles[i]`` says, less name and
    kind): sizes as an int / "imix" / pairs, protocols by name, a mix as a dict (classes left
    out weigh 0), services as dicts (``dns`` defaults to kube-dns on UDP 53)."""
    if kind not in KINDS:
        raise ValueError(f"profile {name}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    kw: dict = {"name": name}
    for key, v in params.items():
        if key == "sizes":
            v = sizes_from_spec(v)
        elif key == "proto":
            v = _proto_number(v)
        elif key == "dports":
            v = tuple(v)
        elif key == "mix":
            v = Mix(**{k: v.get(k, 0.0) for k in MIX_CLASSES}) if isinstance(v, dict) else v
        elif key == "services":
            v = tuple(_service(x) if isinstance(x, dict) else x for x in v)
        kw[key] = v
    try:
        return KINDS[kind](**kw)
    except TypeError as exc:  # a parameter this kind does not take
        raise ValueError(f"profile {name}: {exc}") from None


def _proto_number(v) -> int:
    return PROTO_NUMBERS[v] if isinstance(v, str) else int(v)


def _service(d: dict) -> ServiceShare:
    d = dict(d)
    if d.get("name") == "dns":
        for k, v in DNS_SERVICE_DEFAULTS.items():
            if k == "selector" and ("pods" in d or "service" in d):
                continue
            d.setdefault(k, v)
    if "proto" in d:
        d["proto"] = _proto_number(d["proto"])
    return ServiceShare(**d)


def profile_from_def(d: TrafficProfileDef) -> Profile:
    """The generator for a profile the spec defined."""
    return profile_from_params(d.name, d.kind, d.params)


def profile_by_name(cluster: Cluster, name: str) -> Profile:
    """The cluster's own profile of that name (its spec's ``traffic`` section), else a
    built-in; KeyError lists what there is."""
    d = cluster.traffic_profiles.get(name)
    if d is not None:
        return profile_from_def(d)
    if name in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[name]
    known = list(cluster.traffic_profiles) + [n for n in BUILTIN_PROFILES if n not in cluster.traffic_profiles]
    raise KeyError(f"no traffic profile {name!r} (known: {', '.join(known)})")


def profile_names(cluster: Cluster | None = None) -> list[str]:
    """The names `profile_by_name` resolves: the cluster's first, then the built-ins."""
    own = list(cluster.traffic_profiles) if cluster is not None else []
    return own + [n for n in BUILTIN_PROFILES if n not in own]
