"""`fastpath.compile.kernel_view`: every kernel field filled by name from `Tables`, checked at import."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from fastpath.compile import compile_cluster
from fastpath.compile import kernel_view as kv
from fastpath.compile.bundle import Tables
from fastpath.model import default_scenario
from fastpath.tables import lines
from fastpath.tables.exact import ExactTable
from fastpath.tables.mtrie import Mtrie

TYPES = typing.get_type_hints(Tables)


def test_every_kernel_field_has_a_source():
    kv.check(kv.KernelView._fields, TYPES)
    assert kv.source_of("port_rec", TYPES) == ("port_rec", None)
    assert kv.source_of("neighbor_seed", TYPES) == ("neighbor", "seed")
    assert kv.source_of("route_trie_nodes", TYPES) == ("route_trie", "nodes")
    assert kv.source_of("deep_prefetch", TYPES) == ("", None)


@pytest.mark.parametrize("fields, missing", [
    (("port_rec", "port_records"), "port_records"),  # a renamed Tables field
    (("ovs_mac_buckets", "ovs_mac_slots"), "ovs_mac_slots"),  # a part the exact table has not
    (("route_trie_seed",), "route_trie_seed"),  # an exact table's part asked of the trie
    (("seg_vni", "deep_prefetch", "shallow_prefetch"), "shallow_prefetch"),  # no such derived scalar
])
def test_a_field_without_a_source_fails_the_check(fields, missing):
    with pytest.raises(TypeError, match=missing):
        kv.check(fields, TYPES)


def test_a_renamed_tables_field_fails_the_check():
    renamed = {("segment_mac_table" if k == "segment_l2" else k): v for k, v in TYPES.items()}
    with pytest.raises(TypeError, match="segment_l2_buckets, segment_l2_seed"):
        kv.check(kv.KernelView._fields, renamed)
    with pytest.raises(TypeError, match="deep_prefetch"):
        kv.check(kv.KernelView._fields, TYPES, derived={})


def test_the_view_holds_the_tables_arrays_on_cache_lines_and_typed_scalars():
    """Each array is the table's own when it starts on a cache line (the big ones are built
    there), else a copy that does, equal and as read-only (`tables.lines`)."""
    t = compile_cluster(default_scenario())
    view = kv.kernel_view(t)
    for name, (field, part) in kv._SOURCES.items():
        value = getattr(view, name)
        if not field:
            continue
        src = getattr(t, field) if part is None else getattr(getattr(t, field), part)
        if isinstance(src, np.ndarray):
            assert value is src if lines.is_on_lines(src) else value is not src, name
            assert lines.is_on_lines(value) or value.size == 0, name
            assert value.dtype == src.dtype and value.flags.writeable == src.flags.writeable, name
            np.testing.assert_array_equal(value, src, err_msg=name)
        else:
            assert value == src and type(value) is typing.get_type_hints(kv.KernelView)[name], name
    assert isinstance(t.ovs_mac, ExactTable) and isinstance(t.route_trie, Mtrie)
    for big in (t.port_rec, t.ovs_mac.buckets, t.segment_l2.buckets, t.neighbor_dense):  # (read at random rows)
        assert lines.is_on_lines(big)
    assert view.deep_prefetch == (t.port_rec.nbytes + t.neighbor_dense.nbytes > kv.DEEP_PREFETCH_BYTES)
    assert kv.kernel_view(t, deep_prefetch=True).deep_prefetch is True


@pytest.mark.parametrize("module", ["fastpath.dataplane.pipeline", "fastpath.tables.ports", "fastpath.tables.neighbor",
                                    "fastpath.tables.classifier", "fastpath.dataplane.stages.dfw",
                                    "fastpath.compile.kernel_view"])
def test_the_kernels_modules_do_not_import_the_model(module):
    import importlib

    names = _runtime_imports(importlib.import_module(module).__file__)
    assert not [n for n in names if _is_model(n)], names


def _is_model(name: str) -> bool:
    return name.endswith("model") or ".model." in name or name.startswith(("..model", "...model", "fastpath.model"))


def _runtime_imports(path) -> list[str]:
    """Every module a file imports, except under ``if TYPE_CHECKING:`` (annotations only)."""
    import ast

    tree = ast.parse(open(path).read())
    guarded = {id(n) for g in ast.walk(tree) if isinstance(g, ast.If) and getattr(g.test, "id", "") == "TYPE_CHECKING"
               for b in g.body for n in ast.walk(b)}
    names = []
    for n in ast.walk(tree):
        if id(n) in guarded:
            continue
        if isinstance(n, ast.Import):
            names += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            names.append(("." * n.level) + (n.module or ""))
    return names


def test_no_data_plane_module_imports_the_model_or_the_rib():
    """Issue 10's layering: everything the data plane reads is compiled into `Tables` (the load
    balancer's and the SNAT table too, with their router ids): its modules import no
    `fastpath.model` at run time. A module that did (the LB and SNAT tables built from the RIB
    in the data plane) fails here."""
    import pathlib

    import fastpath.dataplane

    root = pathlib.Path(fastpath.dataplane.__file__).parent
    offenders = {}
    for path in sorted(root.rglob("*.py")):
        bad = [n for n in _runtime_imports(path) if _is_model(n)]
        if bad:
            offenders[str(path.relative_to(root))] = bad
    assert not offenders
    assert _runtime_imports(root / "api.py")  # (the walk reads imports at all)


def test_the_nat_tables_are_compiled_with_the_routers_ids():
    """`Tables.snat` and `Tables.lb` name their service routers by the compiled ids."""
    from fastpath.model import generate
    from fastpath.model.cluster import sr_name

    for c in (default_scenario(), generate(2, 2, 3, 4)):
        t = compile_cluster(c)
        assert t.router_names[t.snat.sr] == sr_name(c.t0.name) if t.snat.sr >= 0 else sr_name(c.t0.name) not in t.router_names
        snat_namespaces = [k for k, s in enumerate(c.namespaces) if s.snat_ip is not None]
        assert sorted(t.snat.namespace.tolist()) == snat_namespaces
        assert (t.lb is None) == (not c.lb_services)
        if t.lb is not None:
            assert t.router_names[t.lb.sr] == sr_name(c.lb_router.name) and t.lb.snat_ip == c.lb_router.link_t1_ip
            assert not t.lb.vs.be_ip.flags.writeable  # (read-only, as every table of the bundle)
