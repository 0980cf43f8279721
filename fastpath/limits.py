"""The sizes fastpath accepts, in one place, and why.

Every request that builds a cluster (`generate`, `fastpath generate`, `run --generate`, each
point of a study) or runs traffic is checked against these numbers *before* anything is
allocated, so a typo such as ``--dfw-rules 1000000000`` is one line at once, not a numpy
allocation error or minutes in a loop. They are budgets of this project's reference machine
(2 cores, 24 GiB, no swap), not product limits of NSX or Kubernetes: those are what the study
reports (`fastpath.analysis.study.Limits`), and a cluster that crosses them is still built.

How they were picked (measured on that machine, generate + compile, peak RSS):

- ``MAX_PODS`` 4,194,304 (2**22): four times the reference 1M-pod cluster
  (1000x4x250x200: 1.1 s + 1.1 s, 0.47 GiB); 4000x4x250x200 (4M pods) took 4.4 s + 3.3 s and
  1.33 GiB. A run then adds a chunk of packets and ~80 bytes a pod of traffic tables, so the
  largest cluster and a run stay well under a quarter of the memory and ten seconds to build.
  (The pod CIDR 10.0.0.0/8 of generated clusters would end near 16M anyway.)
- ``MAX_TEP_PAIRS`` 2048**2 (hosts incl. edges <= 2,048): every forwarding worker keeps an
  H x H TEP-pair counter matrix of 16 bytes a pair: 64 MiB a worker at 2,048 hosts, 4 GiB for
  ``MAX_THREADS`` workers — the largest share of the budget we give one table.
- ``MAX_NODES`` 65,536: a node is a Python object and rows in the node tables; 2048x32
  (65,536 nodes) builds in 0.3 s. The bound keeps the per-node loops small and the generated
  node segment at most a /15 (172.14.0.0/15).
- ``MAX_DFW_RULES`` 100,000: generated rules are drawn in a Python loop (~16 us a rule:
  1.6 s at 100k; a billion would take ~4.5 hours) and the kernel scans them, first match
  wins, for every packet the firewall sees.
- namespaces and pods per node are bounded by the model itself (router links in the link
  CIDR: 32,766; VLAN tags 1..4093 on a node); 32,000 namespaces took 0.6 s + 3.9 s, 0.88 GiB.
- ``MAX_THREADS`` 64: workers of one forward call (see `fastpath.dataplane.api`); more
  threads than cores are allowed and only share the cores.
- ``MAX_PACKETS`` 10**12 a run: memory stays flat (chunks), but at ~2 M packets/s a thread
  that is days of work; the counters (int64) stay exact far beyond it.
- ``MAX_FLOWS`` 2**26 flows of a profile: a Zipf popularity keeps an 8-byte CDF entry a flow
  (512 MiB at the limit).
- ``MAX_STUDY_POINTS`` 100 values a study: each point builds and compiles a cluster.
- ``MAX_WORKERS`` 32 local Dask worker processes (``--workers``): a worker grew to ~580 MB
  RSS on the 1M-pod cluster (`fastpath.scaleout`), so 32 of them and the client fit 24 GiB.
- ``MAX_SEED`` 2**64 - 1: seeds feed numpy's SeedSequence and splitmix64, 64-bit words.
"""

from __future__ import annotations

import numbers

MAX_PODS = 1 << 22
MAX_TEP_PAIRS = 2048 * 2048
MAX_HOSTS = 2048  # transport hosts + edges: sqrt(MAX_TEP_PAIRS)
MAX_NODES = 65_536
MAX_DFW_RULES = 100_000
MAX_THREADS = 64
MAX_PACKETS = 10**12
MAX_FLOWS = 1 << 26
MAX_STUDY_POINTS = 100
MAX_WORKERS = 32
MAX_SEED = 2**64 - 1


def cluster_size_problem(hosts: int, nodes_per_host: int, namespaces: int, pods_per_node: int, edges: int = 1,
                         dfw_rules: int = 0) -> tuple[str, str] | None:
    """(argument, message) for the first count of a generated cluster out of bounds, else None.
    Pure integer arithmetic: nothing is allocated."""
    for arg, v, lo in (("hosts", hosts, 1), ("nodes_per_host", nodes_per_host, 1), ("namespaces", namespaces, 1),
                       ("pods_per_node", pods_per_node, 0), ("edges", edges, 0), ("dfw_rules", dfw_rules, 0)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            return arg, f"{v!r} must be an integer"
        if v < lo:
            return arg, f"{v} must be at least {lo}"
    hosts, nodes_per_host, pods_per_node, edges, dfw_rules = map(int, (hosts, nodes_per_host, pods_per_node, edges,
                                                                     dfw_rules))
    if hosts + edges > MAX_HOSTS:
        arg = "hosts" if hosts >= edges else "edges"
        return arg, (f"{hosts:,} hosts + {edges:,} edge(s) = {hosts + edges:,} TEP endpoints, "
                     f"{(hosts + edges) ** 2:,} TEP pairs: more than the {MAX_HOSTS:,} endpoints "
                     f"({MAX_TEP_PAIRS:,} pairs) fastpath sizes its counters for (fastpath.limits)")
    nodes = hosts * nodes_per_host
    if nodes > MAX_NODES:
        return "nodes_per_host", (f"{hosts:,} hosts x {nodes_per_host:,} nodes = {nodes:,} nodes: more than "
                                  f"the {MAX_NODES:,} fastpath builds (fastpath.limits)")
    pods = nodes * pods_per_node
    if pods > MAX_PODS:
        return "pods_per_node", (f"{nodes:,} nodes x {pods_per_node:,} pods = {pods:,} pods: more than the "
                                 f"{MAX_PODS:,} fastpath builds (fastpath.limits)")
    if dfw_rules > MAX_DFW_RULES:
        return "dfw_rules", f"{dfw_rules:,} rules: more than the {MAX_DFW_RULES:,} fastpath generates (fastpath.limits)"
    return None
