"""Label selectors as Kubernetes evaluates them: matchLabels AND every requirement; In, NotIn
(absent key matches), Exists, DoesNotExist. Expected values are Kubernetes' documented rules
(apimachinery labels.Selector), written out per case."""

from __future__ import annotations

import pytest

from fastpath.policy.objects import LabelSelector, Requirement
from fastpath.policy.selectors import matches

APP_WEB = {"app": "web", "tier": "front"}
APP_DB = {"app": "db"}
EMPTY_VALUE = {"app": ""}
NONE = {}


def sel(labels=None, *exprs):
    return LabelSelector(tuple(sorted((labels or {}).items())), tuple(Requirement(*e) for e in exprs))


@pytest.mark.parametrize("selector, labels, expected", [
    (sel(), APP_WEB, True),  # empty selects everything
    (sel(), NONE, True),
    (sel({"app": "web"}), APP_WEB, True),
    (sel({"app": "web"}), APP_DB, False),
    (sel({"app": "web"}), NONE, False),
    (sel({"app": "web", "tier": "front"}), APP_WEB, True),
    (sel({"app": "web", "tier": "back"}), APP_WEB, False),  # every matchLabels entry
    (sel({"app": ""}), EMPTY_VALUE, True),  # an empty value is a value
    (sel({"app": ""}), NONE, False),
    (sel(None, ("app", "In", ("web", "db"))), APP_DB, True),
    (sel(None, ("app", "In", ("web",))), APP_DB, False),
    (sel(None, ("app", "In", ("web",))), NONE, False),  # In needs the key
    (sel(None, ("app", "NotIn", ("web",))), APP_DB, True),
    (sel(None, ("app", "NotIn", ("web",))), APP_WEB, False),
    (sel(None, ("app", "NotIn", ("web",))), NONE, True),  # NotIn: an absent key matches
    (sel(None, ("app", "Exists", ())), EMPTY_VALUE, True),
    (sel(None, ("app", "Exists", ())), NONE, False),
    (sel(None, ("app", "DoesNotExist", ())), NONE, True),
    (sel(None, ("app", "DoesNotExist", ())), EMPTY_VALUE, False),
    (sel({"tier": "front"}, ("app", "In", ("db",))), APP_WEB, False),  # labels AND expressions
    (sel({"tier": "front"}, ("app", "In", ("web",))), APP_WEB, True),
    (sel(None, ("app", "Exists", ()), ("tier", "DoesNotExist", ())), APP_DB, True),  # expressions AND
    (sel(None, ("app", "Exists", ()), ("tier", "DoesNotExist", ())), APP_WEB, False),
])
def test_matches(selector, labels, expected):
    assert matches(selector, labels) is expected


def test_no_labels_is_no_labels():
    assert matches(sel(None, ("app", "NotIn", ("web",))), None)
    assert not matches(sel({"app": "web"}), None)
