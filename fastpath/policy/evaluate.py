"""NetworkPolicy semantics in plain Python: the reference the compiled DFW is tested against.

Written to be read, not to be fast: every question is answered by walking the policies the way
the API reference words it (DESIGN.md, "Semantics decided, part 2"):

- A pod is *isolated* for a direction when some policy of its namespace selects it
  (``spec.podSelector``) and has that direction among its ``policy_types``.
- A packet leaving pod P for address D is allowed by P's egress when P is not isolated for
  egress, or some egress rule of a policy selecting P matches D, the protocol and the port;
  likewise for ingress with the source address. Rules of all selecting policies are unioned.
- A rule matches when one of its peers matches the remote address (no peers: every address,
  pods or not) and one of its ports matches (no ports: every port and protocol, ICMP too).
- Peers: ``podSelector`` alone = pods of the policy's namespace whose labels match;
  ``namespaceSelector`` alone = every pod of the namespaces whose labels match (a namespace's
  labels include ``kubernetes.io/metadata.name``); both = pods matching the pod selector in
  those namespaces; ``ipBlock`` = the address is in ``cidr`` and in no ``except``, whoever
  owns it (a pod's address too). An address that is no pod's matches no selector.
- Ports: the protocol must be the port's (so only TCP, UDP and SCTP packets can match a rule
  with ports); a number with ``endPort`` matches port..endPort; a name is looked up in the
  destination pod's container ports, by name and protocol — for ingress the selected pod, for
  egress the remote one (a remote that is not a pod has no named ports).
- Kubernetes' two exceptions: traffic between a pod and the node it runs on (that node's IP)
  is always allowed, in both directions; and so is a pod's traffic to itself (source address =
  destination address).

A verdict says who decided: ``(True, None)`` when policy does not restrict the packet (not
isolated, or one of the exceptions); ``(True, "ns/name")`` naming the first policy, in
``cluster.networkpolicies`` order, with a rule that allows it; ``(False, "isolated: egress of
ns/pod")`` / ``"isolated: ingress of ns/pod"`` when nothing allows it.
"""

from __future__ import annotations

from .objects import EGRESS, INGRESS, NetworkPolicy, Peer, PolicyPort, Rule
from .selectors import matches

DIRECTIONS = (INGRESS, EGRESS)


class PolicyModel:
    """The NetworkPolicy verdicts of one cluster. Pods are rows of ``cluster.pods``; addresses
    are IPv4 ints; ``proto`` an IP protocol number; ``dport`` the destination port (ignored
    for protocols without ports unless a rule names ports, which such packets never match)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.policies: tuple[NetworkPolicy, ...] = tuple(cluster.networkpolicies)
        pods = cluster.pods
        self.pod_ns: list[int] = pods.namespace.tolist()
        self.pod_ip: list[int] = pods.ip.tolist()
        self.pod_labels: list[dict] = [dict(lb or {}) for lb in pods.labels] if pods.labels is not None \
            else [{} for _ in range(len(pods))]
        self.pod_ports: list[tuple] = [tuple(p) for p in pods.ports] if pods.ports is not None \
            else [() for _ in range(len(pods))]
        self.node_ip: list[int] = [cluster.nodes[n].ip for n in pods.node.tolist()]
        self.ns_labels: list[dict] = cluster.namespace_label_sets
        ns_index = cluster.namespace_index
        self.policy_ns: list[int] = [ns_index[p.namespace] for p in self.policies]
        self.policies_of_ns: dict[int, list[int]] = {}  # namespace -> its policies, in spec order
        for k, n in enumerate(self.policy_ns):
            self.policies_of_ns.setdefault(n, []).append(k)
        self.pod_of_ip: dict[int, int] = {ip: i for i, ip in enumerate(self.pod_ip)}
        self._selected: dict[tuple[int, str], tuple[int, ...]] = {}

    def _pod_key(self, pod: int) -> str:
        return f"{self.cluster.namespaces[self.pod_ns[pod]].namespace}/{self.cluster.pods.name[pod]}"

    # ---- which policies apply ------------------------------------------------------------------
    def selected_by(self, pod: int, direction: str) -> tuple[int, ...]:
        """Indices into ``cluster.networkpolicies`` of the policies of the pod's namespace that
        select it and have ``direction`` ("Ingress" or "Egress") among their policy types."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be Ingress or Egress, not {direction!r}")
        key = (pod, direction)
        if key not in self._selected:
            self._selected[key] = tuple(
                k for k in self.policies_of_ns.get(self.pod_ns[pod], ())
                if direction in self.policies[k].policy_types and matches(self.policies[k].pod_selector, self.pod_labels[pod]))
        return self._selected[key]

    def isolated(self, pod: int, direction: str) -> bool:
        return bool(self.selected_by(pod, direction))

    # ---- matching --------------------------------------------------------------------------------
    def _peer_matches(self, peer: Peer, policy_ns: int, ip: int) -> bool:
        if peer.ip_block is not None:
            return peer.ip_block.contains(ip)
        remote = self.pod_of_ip.get(ip)
        if remote is None:
            return False
        if peer.namespace_selector is not None:
            if not matches(peer.namespace_selector, self.ns_labels[self.pod_ns[remote]]):
                return False
        elif self.pod_ns[remote] != policy_ns:
            return False
        return peer.pod_selector is None or matches(peer.pod_selector, self.pod_labels[remote])

    def _port_matches(self, port: PolicyPort, dst_pod: int | None, proto: int, dport: int) -> bool:
        if proto != port.protocol:
            return False
        if port.port is None:
            return True
        if isinstance(port.port, int):
            hi = port.end_port if port.end_port is not None else port.port
            return port.port <= dport <= hi
        if dst_pod is None:
            return False
        return any(cp.name == port.port and cp.protocol == proto and cp.port == dport for cp in self.pod_ports[dst_pod])

    def _rule_matches(self, rule: Rule, policy_ns: int, remote_ip: int, dst_pod: int | None, proto: int,
                      dport: int) -> bool:
        if rule.peers and not any(self._peer_matches(p, policy_ns, remote_ip) for p in rule.peers):
            return False
        return not rule.ports or any(self._port_matches(p, dst_pod, proto, dport) for p in rule.ports)

    def _decide(self, pod: int, direction: str, remote_ip: int, dst_pod: int | None, proto: int,
                dport: int) -> tuple[bool, str | None]:
        if remote_ip == self.pod_ip[pod] or remote_ip == self.node_ip[pod]:
            return True, None  # itself, or its own node: always allowed
        chosen = self.selected_by(pod, direction)
        if not chosen:
            return True, None
        for k in chosen:
            p = self.policies[k]
            rules = p.ingress if direction == INGRESS else p.egress
            if any(self._rule_matches(r, self.policy_ns[k], remote_ip, dst_pod, proto, dport) for r in rules):
                return True, p.key
        return False, f"isolated: {direction.lower()} of {self._pod_key(pod)}"

    # ---- sets, for compilers and reports ------------------------------------------------------------
    def selected_pods(self, k: int) -> tuple[int, ...]:
        """Rows of the pods policy ``k`` selects (its namespace, its podSelector), whatever its types."""
        p, n = self.policies[k], self.policy_ns[k]
        return tuple(i for i in range(len(self.pod_ns)) if self.pod_ns[i] == n and matches(p.pod_selector, self.pod_labels[i]))

    def peer_pods(self, k: int, peer: Peer) -> tuple[int, ...]:
        """Rows of the pods a peer of policy ``k`` matches (an ipBlock peer: the pods whose
        address it holds; it matches addresses that are no pod's too)."""
        return tuple(i for i in range(len(self.pod_ns)) if self._peer_matches(peer, self.policy_ns[k], self.pod_ip[i]))

    def named_port(self, pod: int, name: str, proto: int) -> int | None:
        """The number a named port means on ``pod`` for ``proto`` (None: the pod has no such port)."""
        return next((cp.port for cp in self.pod_ports[pod] if cp.name == name and cp.protocol == proto), None)

    # ---- verdicts ----------------------------------------------------------------------------------
    def egress(self, pod: int, dst_ip: int, proto: int, dport: int) -> tuple[bool, str | None]:
        """May pod ``pod`` send a new connection to ``dst_ip`` (proto, dport)? Its egress only."""
        return self._decide(pod, EGRESS, dst_ip, self.pod_of_ip.get(dst_ip), proto, dport)

    def ingress(self, pod: int, src_ip: int, proto: int, dport: int) -> tuple[bool, str | None]:
        """May pod ``pod`` accept a new connection from ``src_ip`` (proto, dport)? Its ingress only."""
        return self._decide(pod, INGRESS, src_ip, pod, proto, dport)

    def connection(self, src_ip: int, dst_ip: int, proto: int, dport: int) -> tuple[bool, str | None]:
        """A new connection ``src_ip`` -> ``dst_ip``: the source pod's egress (when the source is a
        pod) AND the destination pod's ingress (when the destination is one). ``by``: the side
        that denies (egress first), else the policy that allowed ingress, else egress's, else None."""
        src, dst = self.pod_of_ip.get(src_ip), self.pod_of_ip.get(dst_ip)
        out_ok, out_by = self.egress(src, dst_ip, proto, dport) if src is not None else (True, None)
        if not out_ok:
            return False, out_by
        in_ok, in_by = self.ingress(dst, src_ip, proto, dport) if dst is not None else (True, None)
        if not in_ok:
            return False, in_by
        return True, in_by if in_by is not None else out_by
