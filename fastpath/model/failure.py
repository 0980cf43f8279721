"""Failures: a cluster with some of its devices down, for `fastpath run/study --fail`.

    from fastpath.model.failure import fail
    f = fail(cluster, ["edge-1"])      # f.after: the failed cluster; f.text: what moved and what is lost

A failure is a transformation of the cluster, after which the same seeded traffic is run and
compared with `fastpath.analysis.diff` (flows grouped by change, per-device load delta,
bottleneck before and after). What each kind of device takes with it, as NSX and Kubernetes
behave:

- **An edge node.** A service router whose active is on it moves to its standby (NSX's
  active/standby HA pair: ``t1.edges: [active, standby]``; "the standby takes over when the
  active fails", NSX-T Installation Guide, *Edge cluster* and *Tier-1 gateway HA mode*); an SR
  with no surviving edge is gone, and so is every route through it (`fastpath.model.routing`):
  its namespace keeps east-west (the DR is distributed) but nothing leaves it (``no-route`` at
  its T1 DR), what the T0 sends toward it is lost (the T0 DR's routes there become null
  routes: ``no-route`` at the T0 DR), and a load balancer on it takes its virtual servers down
  with it. A T0 whose SR is gone loses its uplinks (they are that SR's
  interfaces): north-south ends at the T0 DR (``no-route``). The edge itself stays listed, with
  no load. An SR that moves keeps its uplinks (the standby's interfaces take over the uplinks).
  An active/active T0's SR instance on it leaves the T0 DR's ECMP group with its uplinks, and the
  flows it carried rehash over the survivors (NSX withdraws the failed SR's routes; BGP/BFD
  converge in seconds, not modeled); with no survivor the T0's SR is gone as above.
- **A transport node (host).** Its node VMs and their pods are gone: the pods are removed from
  the spec (Kubernetes removes their endpoints from every Service, so kube-proxy picks among
  the others; a Service left with none drops at ``no-endpoint``). A packet to a vanished pod or
  node ends at the router that owns its subnet as an ARP miss (``no-neighbor``: NSX's ARP
  suppression has no entry once the logical port is gone), or ``unknown-mac`` where it was
  switched on its segment. A packet whose sender vanished is never sent: the diff counts it in
  its own class, ``sender removed`` — so each packet of the run still has exactly one outcome.
- **A T0 uplink.** Gone from the T0, with the static routes whose next hop only it reached;
  what needed it follows the remaining routes (another uplink, else ``no-route`` at the T0); an
  active/active T0's SR instance left with no uplink leaves the DR's ECMP group.
  Traffic that came in by it is not sent (``sender removed``).

Names: an edge, a host or an uplink by its name; an unknown name is one line listing what
exists. The failed cluster is not a spec (a lost SR has no spec form), so `Failure.changes`
describes the change in `fastpath.analysis.patch.spec_changes`' terms for the diff.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field

from .cluster import Cluster, SpecError, sr_name


@dataclass
class Failure:
    """A failed cluster and what the failure did (see the module docstring)."""

    before: Cluster
    after: Cluster
    devices: tuple[str, ...]
    moved: dict[str, tuple[str, str]] = field(default_factory=dict)  # SR -> (failed edge, standby that took it)
    lost: list[str] = field(default_factory=list)  # SRs with no surviving edge
    removed: dict[str, list[str]] = field(default_factory=dict)  # "nodes"/"pods"/"uplinks"/"routes" -> names
    changes: list[dict] = field(default_factory=list)  # `spec_changes`' form, for the diff

    @property
    def text(self) -> str:
        """What failed and what it did: ``failing edge-1 (t1-web-sr moves to edge-2; t0-sr lost;
        uplink-1 gone)``."""
        said = [f"{sr} moves to {b}" for sr, (a, b) in self.moved.items()]
        if self.lost:
            said.append(f"{', '.join(self.lost)} lost")
        for k, v in self.removed.items():
            if v:
                said.append(f"{', '.join(v)} gone" if len(v) <= 3 else f"{len(v)} {k} gone")
        return f"failing {', '.join(self.devices)}" + (f" ({'; '.join(said)})" if said else "")


def device_kinds(c: Cluster) -> dict[str, str]:
    """Every device `fail` takes, by name: ``edge``, ``host`` or ``uplink``."""
    out = {u.name: "uplink" for u in c.uplinks}
    out.update({h.name: "edge" if h.edge else "host" for h in c.hosts})
    return out


def check_devices(c: Cluster, devices) -> tuple[str, ...]:
    """The names, checked: SpecError (path ``fail``) for an unknown one, listing what exists."""
    kinds = device_kinds(c)
    out = []
    for d in devices:
        if d not in kinds:
            def some(kind):
                names = [n for n, k in kinds.items() if k == kind]
                return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "") or "none"
            raise SpecError("fail", f"no device {d!r} (edges: {some('edge')}; hosts: {some('host')}; "
                            f"uplinks: {some('uplink')})")
        if d not in out:
            out.append(d)
    return tuple(out)


def fail(c: Cluster, devices) -> Failure:
    """``c`` with ``devices`` (edge, host or uplink names) failed: see the module docstring."""
    devices = check_devices(c, devices)
    kinds = device_kinds(c)
    hosts = {d for d in devices if kinds[d] == "host"}
    edges = {d for d in devices if kinds[d] == "edge"}
    uplinks = {d for d in devices if kinds[d] == "uplink"}
    f = Failure(c, c, devices)
    changes = f.changes
    after = _without_hosts(c, hosts, f) if hosts else c

    # service routers: to the standby, else gone
    def move(r):
        if r.active:  # an active/active T0: the failed instances leave the ECMP group
            left = tuple(e for e in r.active if e not in edges)
            for e in r.active:
                if e in edges:
                    f.lost.append(r.sr_on(e))
                    changes.append({"op": "remove", "section": "routers", "what": "service router",
                                    "key": r.sr_on(e), "fields": []})
            if not left:
                return dataclasses.replace(r, edge=None, active=(), sr_down=True)
            return dataclasses.replace(r, edge=left[0], active=left)
        if r.edge is None or r.edge not in edges:
            return r if r.standby is None or r.standby not in edges else dataclasses.replace(r, standby=None)
        sr = sr_name(r.name)
        if r.standby is not None and r.standby not in edges:
            f.moved[sr] = (r.edge, r.standby)
            changes.append({"op": "change", "section": "routers", "what": "service router", "key": sr,
                            "fields": [("edge", r.edge, r.standby)]})
            return dataclasses.replace(r, edge=r.standby, standby=None)
        f.lost.append(sr)
        changes.append({"op": "remove", "section": "routers", "what": "service router", "key": sr, "fields": []})
        return dataclasses.replace(r, edge=None, standby=None, sr_down=True)

    t1s = [move(r) for r in after.t1s]
    t0 = move(after.t0)
    t0_was = after.t0

    def keeps(u):  # an uplink is its SR's interface: it goes with the SR (instance) that holds it
        if u.name in uplinks or t0.sr_down:
            return False
        return (u.edge or t0_was.edge) not in edges if t0_was.active else True

    ups = [u for u in after.uplinks if keeps(u)]
    gone_up = [u.name for u in after.uplinks if u not in ups]
    nets = [ipaddress.IPv4Network((u.ip, u.prefixlen), strict=False) for u in ups]
    routes = [r for r in after.routes if any(ipaddress.IPv4Address(r.next_hop) in n for n in nets)]
    gone_routes = [f"{r.prefix} via {ipaddress.IPv4Address(r.next_hop)}" for r in after.routes if r not in routes]
    for name in gone_up:
        changes.append({"op": "remove", "section": "t0.uplinks", "what": "uplink", "key": name, "fields": []})
    for p in gone_routes:
        changes.append({"op": "remove", "section": "t0.routes", "what": "route", "key": p, "fields": []})
    for e in sorted(edges):
        changes.append({"op": "change", "section": "edges", "what": "edge", "key": e, "fields": [("state", "up", "failed")]})
    f.removed.update(uplinks=gone_up, routes=gone_routes)
    cap = after.capacity
    if gone_up:
        cap = dataclasses.replace(cap, uplink={k: v for k, v in cap.uplink.items() if k not in gone_up})
    after = dataclasses.replace(after, t1s=t1s, t0=t0, uplinks=ups, routes=routes, capacity=cap)
    f.after = after
    return f


def _without_hosts(c: Cluster, hosts: set, f: Failure) -> Cluster:
    """``c`` less the transport nodes ``hosts``, their node VMs and their pods, through the spec
    (so Services resolve their endpoints again, as Kubernetes does when the pods go)."""
    from .spec import from_spec, to_spec

    spec = to_spec(c)
    nodes = {n["name"] for n in spec["nodes"] if n["host"] in hosts}
    pods = [f"{p['namespace']}/{p['name']}" for p in spec["pods"] if p["node"] in nodes]
    spec["hosts"] = [h for h in spec["hosts"] if h["name"] not in hosts]
    spec["nodes"] = [n for n in spec["nodes"] if n["name"] not in nodes]
    spec["pods"] = [p for p in spec["pods"] if p["node"] not in nodes]
    for h in sorted(hosts):
        f.changes.append({"op": "remove", "section": "hosts", "what": "host", "key": h, "fields": []})
    for n in sorted(nodes):
        f.changes.append({"op": "remove", "section": "nodes", "what": "node", "key": n, "fields": []})
    for p in pods:
        f.changes.append({"op": "remove", "section": "pods", "what": "pod", "key": p, "fields": []})
    f.removed.update(hosts=sorted(hosts), nodes=sorted(nodes), pods=pods)
    try:
        return from_spec(spec)
    except SpecError as exc:
        raise SpecError("fail", f"the cluster without {', '.join(sorted(hosts))} is refused: {exc}") from None


__all__ = ["Failure", "check_devices", "device_kinds", "fail"]
