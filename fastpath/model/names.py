"""Which names a spec may give each kind of object, and the checks that enforce it.

Names become keys: a pod is found as ``namespace/name``, a tunnel is ``geneve:<host>-><host>``,
a service router is ``<router>-sr``, a profile is picked with ``--profile NAME``. A name that
holds the separator of such a key (``a/b`` in namespace ``x`` and ``b`` in namespace ``x/a``
are the same key), a space, a newline, an invisible or a right-to-left control character
would make two objects one, or print as something it is not. So every name is checked against
an allow-list; nothing is escaped or normalised, a name that is not allowed is refused.

- Kubernetes objects follow the Kubernetes API (apimachinery's validation, as the API server
  applies it): a **namespace** is a DNS-1123 label (lowercase letters, digits, ``-``; starts
  and ends with a letter or digit; at most 63 characters); a **node** and a **pod** are DNS-1123
  subdomains (DNS-1123 labels joined by ``.``, at most 253 characters).
- **Labels** as Kubernetes checks them: a key is an optional DNS-1123 subdomain prefix and
  ``/``, then a name of at most 63 letters (either case), digits, ``-``, ``_``, ``.`` starting
  and ending with a letter or digit; a value is empty or such a name.
- Everything else a spec names — **hosts and edges** (transport nodes: vCenter and NSX
  allow mixed case and FQDNs such as ``ESX-01.lab``), **routers, uplinks, DFW rules, traffic
  profiles and their services** — is a *device name*: 1 to 253 ASCII letters (either case),
  digits, ``-``, ``_`` and ``.``, starting and ending with a letter or digit. That keeps
  ``/``, whitespace, control and bidi characters out, and ``>``, ``@`` and ``:`` too, which the
  derived device names (``ovs@node``, ``geneve:a->b``) use as separators.

Checks are regular expressions matched whole (``fullmatch``: ``$`` would let a trailing
newline through), ASCII only (``[a-z]``, never ``\\w`` or ``\\d``, which match other scripts).
"""

from __future__ import annotations

import re
from typing import Iterable

from .cluster import SpecError

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
_QUALIFIED = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"


class Rule:
    """One naming rule: a pattern matched whole, a length limit, and how to say it."""

    def __init__(self, what: str, pattern: str, max_len: int, says: str):
        self.what, self.max_len, self.says = what, max_len, says
        self._match = re.compile(pattern).fullmatch

    def ok(self, name) -> bool:
        return isinstance(name, str) and 0 < len(name) <= self.max_len and self._match(name) is not None

    def why(self, name) -> str:
        """The message for a name that is not `ok`."""
        if not isinstance(name, str):
            return f"{name!r} is not a string"
        if not name:
            return f"is empty: a name is {self.says}"
        if len(name) > self.max_len:
            return f"{name[:32]!r}... is {len(name)} characters long, more than {self.max_len} ({self.what})"
        return f"{show(name)} is not {self.what} ({self.says})"

    def check(self, name, path: str) -> None:
        if not self.ok(name):
            raise SpecError(path, self.why(name))


DNS_LABEL = Rule("a DNS-1123 label", _LABEL, 63,
                 "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters")
DNS_SUBDOMAIN = Rule("a DNS-1123 subdomain", _SUBDOMAIN, 253,
                     "lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with "
                     "a letter or digit, at most 253 characters")
DEVICE = Rule("a device name", r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?", 253,
              "letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 253 characters")
LABEL_NAME = Rule("a label name", _QUALIFIED, 63,
                  "letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters")
LABEL_VALUE = Rule("a label value", _QUALIFIED, 63, LABEL_NAME.says + ", or empty")

NAMESPACE, NODE, POD = DNS_LABEL, DNS_SUBDOMAIN, DNS_SUBDOMAIN
"""The Kubernetes rules: namespaces are DNS-1123 labels, nodes and pods DNS-1123 subdomains."""


def show(text: str, limit: int = 64) -> str:
    """``repr`` of a name, cut to `limit` characters (a hostile name may be a megabyte long);
    repr escapes control, bidi and other invisible characters, so the message stays one line
    and shows what is really there."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def check_many(rule: Rule, names, path_of) -> None:
    """Check a column of names (a million pods: each distinct name is matched once);
    ``path_of(i)`` is the spec path of row i. Raises for the first bad row in order."""
    names = names.tolist() if hasattr(names, "tolist") else list(names)
    if all(rule.ok(n) for n in set(names)):
        return
    for i, n in enumerate(names):
        if not rule.ok(n):
            raise SpecError(path_of(i), rule.why(n))


def check_labels(labels: dict, path: str) -> None:
    """Kubernetes label keys and values (IsQualifiedName, IsValidLabelValue)."""
    for key, value in labels.items():
        label_key(key, path)
        if not isinstance(value, str):
            raise SpecError(path, f"label {show(str(key))}: value {value!r} is not a string")
        if value and not LABEL_VALUE.ok(value):
            raise SpecError(path, f"label {show(key)}: value {LABEL_VALUE.why(value)}")


def label_key(key, path: str) -> None:
    if not isinstance(key, str):
        raise SpecError(path, f"label key {key!r} is not a string")
    prefix, slash, name = key.rpartition("/")
    if slash and not DNS_SUBDOMAIN.ok(prefix):
        raise SpecError(path, f"label key {show(key)}: prefix " + (
            "is empty" if not prefix else DNS_SUBDOMAIN.why(prefix)) + " (a key is [prefix/]name)")
    if not LABEL_NAME.ok(name):
        raise SpecError(path, f"label key {show(key)}: name " + (
            "is empty" if not name else LABEL_NAME.why(name)) + (" (a key is [prefix/]name)" if slash else ""))


def check_all(rule: Rule, named: Iterable[tuple[str, str]]) -> None:
    """(name, path) pairs, each checked against `rule`."""
    for name, path in named:
        rule.check(name, path)
