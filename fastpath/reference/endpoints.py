"""Names to endpoints: what ``fastpath trace SRC DST`` accepts, for the CLI and the library.

SRC is a pod (``namespace/name``), a node name, or a T0 uplink name. DST is any of those, an
IPv4 address, or a Service (``svc/namespace/name``: its cluster IP). Unknown names raise `LookupError` with a one-line message.
"""

from __future__ import annotations

from ..model.addressing import ip_from_str, ip_to_str
from ..services import backend_of, choose, lb_port
from ..model.cluster import Cluster
from .walk import Ingress, Packet, Result, walk


def resolve_source(c: Cluster, name: str) -> tuple[Ingress, int]:
    """-> (ingress, source IP)."""
    if "/" in name:
        if name in c.pod_index:
            i = c.pod_index[name]
            return Ingress("pod", i), int(c.pods.ip[i])
        raise LookupError(f"source: no pod {name!r} (pods are namespace/name)")
    if name in c.node_index:
        i = c.node_index[name]
        return Ingress("node", i), c.nodes[i].ip
    for i, u in enumerate(c.uplinks):
        if u.name == name:
            return Ingress("uplink", i), u.next_hop
    raise LookupError(f"source: {name!r} is neither a pod (namespace/name), a node nor an uplink")


def resolve_destination(c: Cluster, name: str) -> int:
    """-> destination IP (a Service, ``svc/namespace/name``: its cluster IP)."""
    try:
        return ip_from_str(name)
    except ValueError:
        pass
    if name.startswith("svc/"):
        k = c.service_index.get(name[4:])
        if k is None:
            raise LookupError(f"destination: no Service {name[4:]!r} (svc/namespace/name)")
        ip = c.services[k].cluster_ip
        if ip is None:
            raise LookupError(f"destination: Service {name[4:]} has no cluster IP (headless or ExternalName)")
        return ip
    if "/" in name:
        if name in c.pod_index:
            return int(c.pods.ip[c.pod_index[name]])
        raise LookupError(f"destination: no pod {name!r}")
    if name in c.node_index:
        return c.nodes[c.node_index[name]].ip
    for u in c.uplinks:
        if u.name == name:
            return u.ip
    raise LookupError(f"destination: {name!r} is neither an IPv4 address, a pod (namespace/name) nor a node")


def reply_sender(c: Cluster, ip: int, conn: tuple | None = None) -> Ingress:
    """Who answers a connection to ``ip``: the pod or node owning it; for a Service's cluster IP
    the backend kube-proxy sends the connection ``conn`` = (client IP, proto, client port,
    port) to, for a LoadBalancer's external IP the one its virtual server does; else the outside through the first uplink (LookupError when the cluster has none)."""
    owner = c.ip_owner.get(ip)
    if owner is not None:
        return Ingress(*owner)
    if conn is not None and ip in c.service_by_ip:
        client, proto, cport, port = conn
        be = backend_of(c, client, ip, proto, cport, port)
        if be is None or be.lport < 0:
            raise LookupError(f"--reply: {ip_to_str(ip)} is a Service's cluster IP, but no backend in the cluster "
                              f"serves proto {proto} port {port} there")
        n = len(c.pods)
        return Ingress("pod", be.lport) if be.lport < n else Ingress("node", be.lport - n)
    if conn is not None and ip in c.service_by_lb_ip:  # a LoadBalancer's external IP: its virtual server's pick
        client, proto, cport, port = conn
        hit = lb_port(c, ip, proto, port)
        be = None if hit is None else choose(c.services[hit[0]].backends[hit[1]], client, ip, proto, cport, port,
                                             c.settings.service_hash_seed)
        if be is None or be.lport < 0:
            raise LookupError(f"--reply: {ip_to_str(ip)} is a LoadBalancer's external IP, but no backend in the "
                              f"cluster serves proto {proto} port {port} there")
        n = len(c.pods)
        return Ingress("pod", be.lport) if be.lport < n else Ingress("node", be.lport - n)
    if not c.uplinks:
        raise LookupError("--reply: the destination is outside the cluster and no uplink brings its reply in")
    return Ingress("uplink", 0)


def connection_packet(c: Cluster, src: str, dst: str, *, ttl: int = 64, proto: int = 17, sport: int = 33434,
                      dport: int = 33434, size: int = 100, src_ip: str | None = None, src_mac: int | None = None,
                      reply: bool = False) -> tuple[Ingress, Packet]:
    """The first packet of the connection SRC -> DST, or with ``reply`` its answer: sent by
    DST's owner back to SRC's address, ports swapped, marked a reply (the stateful DFW judges
    it as the connection it answers). ``src_ip``/``src_mac`` override the sender's own."""
    ingress, sip = resolve_source(c, src)
    if src_ip is not None:
        sip = ip_from_str(src_ip)
    dip = resolve_destination(c, dst)
    if not reply:
        return ingress, Packet(src_ip=sip, dst_ip=dip, proto=proto, sport=sport, dport=dport, ttl=ttl, size=size,
                               src_mac=src_mac)
    return reply_sender(c, dip, (sip, proto, sport, dport)), Packet(src_ip=dip, dst_ip=sip, proto=proto, sport=dport, dport=sport, ttl=ttl,
                                        size=size, reply=True)


def trace(c: Cluster, src: str, dst: str, *, ttl: int = 64, proto: int = 17, sport: int = 33434,
          dport: int = 33434, size: int = 100, src_ip: str | None = None, src_mac: int | None = None,
          reply: bool = False) -> Result:
    """Walk one packet from a named source to a named destination (the library form of
    ``fastpath trace``). ``src_ip``/``src_mac`` override the sender's own (SpoofGuard tests);
    ``reply``: walk the connection's reply instead (`connection_packet`)."""
    ingress, pkt = connection_packet(c, src, dst, ttl=ttl, proto=proto, sport=sport, dport=dport, size=size,
                                     src_ip=src_ip, src_mac=src_mac, reply=reply)
    return walk(c, ingress, pkt)
