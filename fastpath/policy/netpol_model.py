"""The upstream NetworkPolicy e2e model as a fastpath spec, and its truth tables.

Kubernetes' ``test/e2e/network/netpol`` builds three namespaces x, y, z (labelled ``ns: <name>``,
and ``kubernetes.io/metadata.name`` as every namespace) with pods a, b, c in each (labelled
``pod: <name>``), every pod serving ports 80 and 81 over TCP, UDP and SCTP from container ports
named ``serve-<port>-<protocol>`` (``serve-80-tcp``). It then states, per test, the expected
connectivity of every ordered pair of pods as a table. `netpol_spec` is that cluster (pods
spread over two nodes on two hosts; namespace subnets fixed so pod addresses are known: x/a is
172.16.1.2, x/b .3, x/c .4, y/* in 172.16.2.0/24, z/* in 172.16.3.0/24), and `parse_table`
reads a table written the e2e way::

          x/a x/b x/c
    x/a    .   X   .
    x/b    .   .   .

rows are sources, columns destinations, ``.`` allowed, ``X`` denied. `reachability` computes
the same matrix from a cluster with the reference semantics (`PolicyModel.connection`).
`probe_batch` makes packets aimed at what policies look at, and `concat` joins batches, for the
tests that hold the compiled DFW to the reference walk.
"""

from __future__ import annotations

import copy

import numpy as np

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
PORTS = (80, 81)
PROTOCOLS = ("TCP", "UDP", "SCTP")
PROTO_NUMBERS = {"TCP": 6, "UDP": 17, "SCTP": 132, "tcp": 6, "udp": 17, "sctp": 132}


def netpol_spec(*policies: dict, pods: tuple[str, ...] | None = None) -> dict:
    """The x/y/z x a/b/c cluster as a spec dict, with ``policies`` (NetworkPolicy objects as
    Kubernetes writes them) in ``networkpolicies``. ``pods``: keep only these (``"x/a"``...)."""
    spec: dict = {
        "cluster": {"name": "netpol", "pod_cidr": "172.16.0.0/16"},
        "node_network": {"subnet": "172.15.0.0/24"},
        "hosts": [{"name": "esx-1"}, {"name": "esx-2"}],
        "nodes": [{"name": "node-1", "host": "esx-1"}, {"name": "node-2", "host": "esx-2"}],
        "namespaces": [{"name": ns, "subnet": f"172.16.{k + 1}.0/24", "labels": {"ns": ns}}
                       for k, ns in enumerate(NAMESPACES)],
        "pods": [],
        "networkpolicies": [copy.deepcopy(p) for p in policies],
    }
    for ns in NAMESPACES:
        for j, name in enumerate(PODS):
            if pods is not None and f"{ns}/{name}" not in pods:
                continue
            spec["pods"].append({
                "name": name, "namespace": ns, "node": f"node-{j % 2 + 1}", "labels": {"pod": name},
                "ports": [{"name": f"serve-{port}-{proto.lower()}", "containerPort": port, "protocol": proto}
                          for port in PORTS for proto in PROTOCOLS],
            })
    return spec


def policy(name: str, namespace: str, spec: dict) -> dict:
    """A NetworkPolicy object as ``kubectl`` would take it."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def parse_table(text: str) -> dict[tuple[str, str], bool]:
    """An e2e-style truth table -> {(src, dst): allowed}."""
    lines = [ln.split() for ln in text.strip().splitlines() if ln.strip()]
    cols = lines[0]
    out = {}
    for row in lines[1:]:
        src, cells = row[0], row[1:]
        if len(cells) != len(cols):
            raise ValueError(f"row {src}: {len(cells)} cells for {len(cols)} columns")
        for dst, cell in zip(cols, cells):
            if cell not in (".", "X"):
                raise ValueError(f"row {src}, column {dst}: {cell!r} is neither . nor X")
            out[(src, dst)] = cell == "."
    return out


def reachability(cluster, proto: str | int, port: int, model=None) -> dict[tuple[str, str], bool]:
    """{(src, dst): allowed} for every ordered pair of pods, by the reference semantics."""
    from .evaluate import PolicyModel

    model = model or PolicyModel(cluster)
    p = PROTO_NUMBERS[proto] if isinstance(proto, str) else proto
    keys = [pod.key for pod in cluster.pods]
    ips = cluster.pods.ip.tolist()
    return {(keys[s], keys[d]): model.connection(ips[s], ips[d], p, port)[0]
            for s in range(len(keys)) for d in range(len(keys))}


def format_table(matrix: dict[tuple[str, str], bool]) -> str:
    """The inverse of `parse_table` (for messages when a table differs)."""
    keys = list(dict.fromkeys(k for pair in matrix for k in pair))
    rows = ["     " + " ".join(f"{k:>4}" for k in keys)]
    for s in keys:
        rows.append(f"{s:<5}" + " ".join(f"{'.' if matrix.get((s, d), True) else 'X':>4}" for d in keys))
    return "\n".join(rows)


PROBE_FIELDS = ("verdict", "reason", "dev_kind", "dev_id", "egress_port", "dfw_at_src", "dfw_at_dst")
"""The result fields a DFW differential test compares."""


def probe_batch(c, n: int, seed: int):
    """n packets at what policies look at: pod, node and outside senders, pods (and some nodes
    and outside addresses) as destinations, ports 79..82, 53 and the renumbered 1080/1081, TCP,
    UDP, SCTP, ICMP and GRE, a third of them replies."""
    from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, make_batch

    rng = np.random.default_rng(seed)
    P, N = len(c.pods), len(c.nodes)
    ip = np.asarray(c.pods.ip)
    node_ip = np.array([x.ip for x in c.nodes], np.uint32)
    kind = rng.choice([INGRESS_POD] * 6 + [INGRESS_NODE, INGRESS_UPLINK], n)
    iid = np.where(kind == INGRESS_POD, rng.integers(0, P, n), np.where(kind == INGRESS_NODE, rng.integers(0, N, n), 0))
    src_ip = np.where(kind == INGRESS_POD, ip[np.minimum(iid, P - 1)],
                      np.where(kind == INGRESS_NODE, node_ip[np.minimum(iid, N - 1)],
                               rng.choice([0xCB007101, 0xAC100202, 0x0A000005], n)))
    dst_ip = np.where(rng.random(n) < 0.85, ip[rng.integers(0, P, n)],
                      np.where(rng.random(n) < 0.5, node_ip[rng.integers(0, N, n)], 0x08080808))
    return make_batch(ingress_kind=kind, ingress_id=iid, src_ip=src_ip, dst_ip=dst_ip,
                      proto=rng.choice([6, 17, 132, 1, 47], n), sport=rng.choice([40000, 80, 81], n),
                      dport=rng.choice([79, 80, 81, 82, 53, 1080, 1081], n), ttl=64, length=100,
                      reply=rng.random(n) < 0.33)


def concat(*batches):
    """One batch of the packets of ``batches``, in order."""
    from ..packets import make_batch

    return make_batch(**{f: np.concatenate([getattr(b, f) for b in batches]) for f in batches[0]._fields})
