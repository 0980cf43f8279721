"""`fastpath.tables.ports`: the packed port record — builder, scalar decode, numpy columns and
numba accessors against an oracle read straight off the model."""

from __future__ import annotations

import numpy as np
import pytest

from fastpath.compile import compile_cluster
from fastpath.model import default_scenario, generate
from fastpath.tables import ports
from fastpath.tables.ports import PORT_NODE, PORT_POD, Port

CLUSTERS = {
    "seed": default_scenario,
    "generated-11": lambda: generate(4, 2, 7, 30, service_t1_fraction=0.5, dfw_rules=6, seed=11),
    "generated-5": lambda: generate(3, 3, 2, 9, dfw_rules=4, seed=5),
}


def model_ports(c) -> list[Port]:
    """The slow, obvious oracle: every port's fields from the cluster objects (its two DFW
    tables: what the DFW compiler assigned, packed and decoded here; tests/test_compile_dfw.py
    holds the assignment to the semantics)."""
    from fastpath.compile.dfw import compile_dfw

    ip = np.array([int(x) for x in c.pods.ip] + [n.ip for n in c.nodes], np.uint32)
    d = compile_dfw(c, ip)
    out = []
    for i in range(len(c.pods)):
        pod = c.pods[i]
        n = c.node_index[pod.node]
        out.append(Port(pod.mac, pod.vlan, pod.ip, c.namespace_index[pod.namespace] + 1, n,
                        c.host_index[c.nodes[n].host], PORT_POD, int(d["port_dfw_egress"][i]),
                        int(d["port_dfw_ingress"][i])))
    for n, node in enumerate(c.nodes):
        k = len(c.pods) + n
        out.append(Port(node.mac, 0, node.ip, 0, n, c.host_index[node.host], PORT_NODE, int(d["port_dfw_egress"][k]),
                        int(d["port_dfw_ingress"][k])))
    return out


@pytest.fixture(scope="module", params=list(CLUSTERS))
def compiled(request):
    c = CLUSTERS[request.param]()
    return c, compile_cluster(c)


def test_decode_and_columns_match_the_model(compiled):
    c, t = compiled
    want = model_ports(c)
    got = [ports.decode(t.port_rec, p) for p in range(t.n_ports)]
    assert got == want
    for field in Port._fields:
        assert ports.column(t.port_rec, field).tolist() == [getattr(w, field) for w in want], field
    assert t.port_mac.tolist() == [w.mac for w in want] and t.port_host.tolist() == [w.host for w in want]


def test_numba_accessors_match_the_scalar_decode(compiled):
    _, t = compiled
    rec = t.port_rec
    for p in range(t.n_ports):
        d = ports.decode(rec, p)
        got = (int(ports.port_mac(rec, p)), int(ports.port_ip(rec, p)), int(ports.port_segment(rec, p)),
               int(ports.port_node(rec, p)), int(ports.port_host(rec, p)))
        assert got == (d.mac, d.ip, d.segment, d.node, d.host)


def test_extreme_values_survive_the_round_trip():
    """Every field at its widest: all-ones MAC, VLAN 4095, broadcast IP, big ids; and zeros."""
    cols = {"port_mac": np.array([(1 << 48) - 1, 0], np.uint64), "port_vlan": np.array([4095, 0], np.uint16),
            "port_ip": np.array([0xFFFF_FFFF, 0], np.uint32), "port_segment": np.array([(1 << 31) - 1, 0], np.int32),
            "port_node": np.array([(1 << 31) - 1, 0], np.int32), "port_host": np.array([(1 << 31) - 1, 0], np.int32),
            "port_kind": np.array([PORT_NODE, PORT_POD], np.uint8),
            "port_dfw_egress": np.array([(1 << 24) - 1, 0]), "port_dfw_ingress": np.array([(1 << 24) - 2, 0])}
    rec = ports.pack(cols)
    assert rec.shape == (2, ports.PORT_WORDS) and rec.dtype == np.uint64
    assert ports.decode(rec, 0) == Port((1 << 48) - 1, 4095, 0xFFFF_FFFF, (1 << 31) - 1, (1 << 31) - 1, (1 << 31) - 1,
                                        PORT_NODE, (1 << 24) - 1, (1 << 24) - 2)
    assert ports.decode(rec, 1) == Port(0, 0, 0, 0, 0, 0, PORT_POD, 0, 0)
    with pytest.raises(ValueError, match="port_dfw_egress"):
        ports.pack({**cols, "port_dfw_egress": np.array([1 << 24, 0])})
    assert int(ports.port_mac(rec, 0)) == (1 << 48) - 1 and int(ports.port_ip(rec, 0)) == 0xFFFF_FFFF
    assert int(ports.port_segment(rec, 0)) == (1 << 31) - 1 and int(ports.port_host(rec, 1)) == 0


@pytest.mark.parametrize("p", [-1, 2, 1 << 40])
def test_decode_refuses_a_port_outside_the_records(p):
    rec = ports.pack({k: np.zeros(2, np.uint64) for k in ("port_mac", "port_vlan", "port_ip", "port_segment",
                                                          "port_node", "port_host", "port_kind")})
    with pytest.raises(IndexError):
        ports.decode(rec, p)
