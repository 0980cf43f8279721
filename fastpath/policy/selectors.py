"""Label selectors as Kubernetes evaluates them (apimachinery's ``labels.Selector``).

``matchLabels`` and every ``matchExpressions`` requirement must hold (AND). Per operator:
In — the key is present and its value is one of ``values``; NotIn — the key is absent, or its
value is none of ``values`` (absent matches: that is Kubernetes' rule, and the easy one to get
wrong); Exists — the key is present (any value, the empty one too); DoesNotExist — absent.
An empty selector matches every label set.
"""

from __future__ import annotations

from typing import Mapping

from .objects import LabelSelector, Requirement


def requirement_matches(req: Requirement, labels: Mapping[str, str]) -> bool:
    op = req.operator
    if op == "In":
        return req.key in labels and labels[req.key] in req.values
    if op == "NotIn":
        return req.key not in labels or labels[req.key] not in req.values
    if op == "Exists":
        return req.key in labels
    if op == "DoesNotExist":
        return req.key not in labels
    raise ValueError(f"not a selector operator: {op!r}")


def matches(selector: LabelSelector, labels: Mapping[str, str] | None) -> bool:
    """Does ``selector`` select an object with ``labels`` (None = no labels)?"""
    labels = labels or {}
    for key, value in selector.match_labels:
        if labels.get(key) != value:
            return False
    return all(requirement_matches(r, labels) for r in selector.match_expressions)
