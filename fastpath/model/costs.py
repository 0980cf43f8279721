"""The CPU cost model of the modeled devices: cycles a packet costs each datapath, and its cores.

Why cycles per operation
------------------------
A load report that judges devices by link Gb/s alone misses what stops NSX clusters first at
small packets: the software datapaths run out of cycles. Three datapaths do the work, each a
device class here:

- ``host`` — a transport node's hypervisor datapath (N-VDS / VDS with NSX): the VIF's child
  port, SpoofGuard, the DFW, logical switching, the distributed routers, Geneve;
- ``node`` — the Open vSwitch bridge inside a node VM (NCP's nsx-ovs): a pod's frame once on
  its way out and once on its way in, and kube-proxy's Service DNAT in that OVS;
- ``edge`` — an edge node's (DPDK) datapath: service routers, the DRs that run there, SNAT,
  the load balancer's virtual servers, Geneve.

A packet's cost on a device is the sum of the operations it needs there, each a number of
cycles: ``switch`` (a pass through the device: receive, the logical switch lookups, transmit),
``route`` (each router hop: LPM, TTL, next hop and the neighbor lookup), ``dfw_new`` and
``dfw_established`` (a DFW evaluation at a logical port: a connection's first packet walks the
rules and creates state; later packets and replies match the state), ``encap`` and ``decap``
(a Geneve tunnel leg), ``nat`` (SNAT/un-SNAT on the T0 SR; Service DNAT/un-DNAT in the node's
OVS) and ``lb`` (a virtual server's DNAT+SNAT on the SR). A device has ``cores`` cores at ``ghz``;
its utilisation is the cycles its share of the offered load needs per second over
``cores * ghz * 1e9``. Where the work lands is counted from the run (`fastpath.analysis.work`).

Defaults and their sources
--------------------------
Public per-core packet rates for these datapaths mostly do not exist (the NSX figures are
throughputs of whole appliances with large packets; VMware publishes no cycles per packet).
Every default is therefore either **sourced** (it carries the public source it comes from) or
a **placeholder**: fastpath's order-of-magnitude judgement, which the load report lists by name
so that a review never takes it for a measurement. The one sourced per-packet figure is Open
vSwitch's kernel datapath at 1.88 Mpps on one core (Emmerich et al.), the node VM's OVS: at the
placeholder clock of 2.5 GHz that is 1,330 cycles a pass (the figure stays 1.88 Mpps a core
whatever clock the planner sets, since the cycles are derived at the default clock). An edge's
cores default to the 4 vCPUs of a Medium edge VM (NSX 4.0), sourced as a count of vCPUs, not of
the datapath's cores (an edge gives part of them to other work). How to measure each figure is
in its note (pktgen/TRex through a lab host, the methods capacity studies publish).

A spec sets any figure in ``capacity.cpu`` (``{host: {cores: 8, switch: 700}, node: {...},
edge: {...}}``) and per device cores in ``capacity.cpu.cores`` (``{esx-1: 16, worker-3: 2}``);
a figure the spec sets is no longer a placeholder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEVICE_CLASSES = ("host", "node", "edge")
OPS = ("switch", "route", "dfw_new", "dfw_established", "encap", "decap", "nat", "lb")
CLASS_OPS = {
    "host": ("switch", "route", "dfw_new", "dfw_established", "encap", "decap"),
    "node": ("switch", "nat"),
    "edge": ("switch", "route", "encap", "decap", "nat", "lb"),
}
"""The operations each class performs (a figure for another is an error)."""

OVS_KERNEL = ("P. Emmerich et al., \"Throughput and Latency of Virtual Switching with Open vSwitch: "
              "A Quantitative Analysis\", J. Netw. Syst. Manage. 26 (2018), DOI 10.1007/s10922-017-9417-0 "
              "(1.88 Mpps on one core, Open vSwitch kernel datapath; first in IEEE CloudNet 2014)")
EDGE_VM = ("NSX 4.0 Administration Guide, \"NSX Edge resource reservation\" (Small 2, Medium 4, Large 8, "
           "X-Large 16 vCPUs) — https://docs.vmware.com/en/VMware-NSX/4.0/administration/"
           "GUID-E5AAE770-2326-4039-96BD-608D3218A0B8.html")
MEASURE_HOST = ("measure: small-packet (64-256 B) Geneve traffic between two lab hosts with pktgen or TRex, "
                "Mpps per datapath thread, with and without the operation")
MEASURE_EDGE = "measure: RFC 2544 through one edge node, Mpps per datapath core, with and without the operation"


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    source: str | None  # None: a placeholder
    note: str = ""

    @property
    def placeholder(self) -> bool:
        return self.source is None


DEFAULT_GHZ = 2.5
OVS_KERNEL_MPPS = 1.88

FIGURES: dict[str, dict[str, Figure]] = {
    "host": {
        "cores": Figure(2, "cores", None, "datapath threads serving the node VMs' vNICs and the TEP; "
                        "count them on the host (net threads busy under load)"),
        "ghz": Figure(DEFAULT_GHZ, "GHz", None, "the host CPU's clock"),
        "switch": Figure(900, "cycles", None, MEASURE_HOST),
        "route": Figure(200, "cycles", None, MEASURE_HOST),
        "dfw_new": Figure(4000, "cycles", None, "measure connections/s against rules per vNIC (0, 1k, 4k) in a lab"),
        "dfw_established": Figure(250, "cycles", None, MEASURE_HOST),
        "encap": Figure(400, "cycles", None, MEASURE_HOST + " (with and without NIC Geneve offload)"),
        "decap": Figure(400, "cycles", None, MEASURE_HOST + " (with and without NIC Geneve offload)"),
    },
    "node": {
        "cores": Figure(1, "cores", None, "the node VM's vCPUs its OVS softirqs may take"),
        "ghz": Figure(DEFAULT_GHZ, "GHz", None, "the node VM's vCPU clock"),
        "switch": Figure(round(DEFAULT_GHZ * 1e9 / (OVS_KERNEL_MPPS * 1e6)), "cycles", OVS_KERNEL,
                         "1.88 Mpps a core at the default 2.5 GHz (the paper's CPU clock is not stated there)"),
        "nat": Figure(1000, "cycles", None, "conntrack + NAT in OVS; measure new connections/s as "
                      "\"Benchmarking improved conntrack performance in OvS 3.0.0\" (Red Hat, 2022) does"),
    },
    "edge": {
        "cores": Figure(4, "cores", EDGE_VM, "a Medium edge VM's vCPUs; its DPDK datapath uses part of them"),
        "ghz": Figure(DEFAULT_GHZ, "GHz", None, "the edge CPU's clock"),
        "switch": Figure(300, "cycles", None, MEASURE_EDGE),
        "route": Figure(150, "cycles", None, MEASURE_EDGE),
        "encap": Figure(200, "cycles", None, MEASURE_EDGE),
        "decap": Figure(200, "cycles", None, MEASURE_EDGE),
        "nat": Figure(500, "cycles", None, MEASURE_EDGE + " with SNAT rules"),
        "lb": Figure(1200, "cycles", None, MEASURE_EDGE + " through an L4 virtual server"),
    },
}
"""Every default, per class: ``cores``, ``ghz`` and the cycles of each of its operations."""


@dataclass(frozen=True)
class CpuModel:
    """The figures in effect: the defaults with a spec's ``capacity.cpu`` over them."""

    given: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # class -> figure -> value
    cores: Mapping[str, float] = field(default_factory=dict)  # device name -> its cores

    def value(self, cls: str, name: str) -> float:
        return float(self.given.get(cls, {}).get(name, FIGURES[cls][name].value))

    def cycles(self, cls: str) -> dict[str, float]:
        """Cycles of each operation of the class."""
        return {op: self.value(cls, op) for op in CLASS_OPS[cls]}

    def cores_of(self, cls: str, device: str) -> float:
        return float(self.cores.get(device, self.value(cls, "cores")))

    def hz_of(self, cls: str, device: str) -> float:
        """Cycles a second the device has: its cores times its clock."""
        return self.cores_of(cls, device) * self.value(cls, "ghz") * 1e9

    def placeholders(self, classes=DEVICE_CLASSES) -> list[str]:
        """The figures in effect that are placeholders (``host.switch``, ...), for the classes given."""
        return [f"{cls}.{name}" for cls in classes for name, f in FIGURES[cls].items()
                if f.placeholder and name not in self.given.get(cls, {})]

    def as_dict(self) -> dict:
        """Every figure in effect, per class, and the per-device cores (JSON-ready)."""
        return {**{cls: {name: self.value(cls, name) for name in FIGURES[cls]} for cls in DEVICE_CLASSES},
                "cores": dict(self.cores)}

    def given_dict(self) -> dict:
        """What a spec set (the ``capacity.cpu`` that rebuilds this model)."""
        out = {cls: dict(v) for cls, v in self.given.items() if v}
        if self.cores:
            out["cores"] = dict(self.cores)
        return out


def resolve_cpu(*sources: Any, path: str = "capacity.cpu") -> CpuModel:
    """A `CpuModel` from ``capacity.cpu``-shaped sources, later ones winning figure by figure:
    None (skipped), a `CpuModel`, or a mapping ``{class: {figure: value}, cores: {device: n}}``.
    Raises ValueError naming the field of an unknown class or figure, or a value that is not a
    positive finite number."""
    given: dict[str, dict[str, float]] = {}
    cores: dict[str, float] = {}
    for src in sources:
        if src is None:
            continue
        if isinstance(src, CpuModel):
            src = src.given_dict()
        if not isinstance(src, Mapping):
            raise ValueError(f"{path}: expected a mapping of device class -> figures, got {type(src).__name__}")
        for cls, figs in src.items():
            if cls == "cores":
                if not isinstance(figs, Mapping):
                    raise ValueError(f"{path}.cores: expected device name -> cores, got {type(figs).__name__}")
                for dev, x in figs.items():
                    cores[str(dev)] = positive(f"{path}.cores.{dev}", x)
                continue
            if cls not in FIGURES:
                raise ValueError(f"{path}.{cls}: not a device class (classes: {', '.join(DEVICE_CLASSES)}; "
                                 "per-device cores under cores)")
            if not isinstance(figs, Mapping):
                raise ValueError(f"{path}.{cls}: expected figure -> value, got {type(figs).__name__}")
            for name, x in figs.items():
                if name not in FIGURES[cls]:
                    raise ValueError(f"{path}.{cls}.{name}: not a figure of a {cls} "
                                     f"(it has {', '.join(FIGURES[cls])})")
                given.setdefault(cls, {})[name] = positive(f"{path}.{cls}.{name}", x)
    return CpuModel(given, cores)


def positive(path: str, value: Any) -> float:
    """``value`` as a positive finite float, else ValueError naming ``path`` (a bool is no number)."""
    if isinstance(value, bool):
        raise ValueError(f"{path}: {value!r} is not a number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: {value!r} is not a number") from None
    if not x > 0 or math.isinf(x):
        raise ValueError(f"{path}: {value!r} must be a positive finite number")
    return x


def figures_table() -> list[dict]:
    """Every default as rows (class, figure, value, unit, placeholder, source, note): the
    README's table and ``fastpath show costs``."""
    return [{"class": cls, "figure": name, "value": f.value, "unit": f.unit, "placeholder": f.placeholder,
             "source": f.source or "", "note": f.note}
            for cls in DEVICE_CLASSES for name, f in FIGURES[cls].items()]


__all__ = ["CLASS_OPS", "DEVICE_CLASSES", "FIGURES", "OPS", "CpuModel", "Figure", "figures_table", "resolve_cpu"]
