"""Pod placement rules beyond node selection: topology spread constraints, pod (anti-)affinity terms with
their namespaces, and preferred node affinity, read as the Kubernetes API defines them.

- ``topologySpreadConstraints``: ``maxSkew`` (>= 1), ``topologyKey``, ``whenUnsatisfiable``
  (DoNotSchedule or ScheduleAnyway), ``labelSelector`` (absent: selects no pod; ``{}``: every pod of the
  namespace), ``minDomains`` (DoNotSchedule only), ``matchLabelKeys`` (the incoming pod's values of those
  keys are ANDed into the selector; keys the pod template lacks are ignored, as the API does, except the
  revision hash ``pod-template-hash`` / ``controller-revision-hash``, which the controller adds: only pods
  of the same revision count), ``nodeAffinityPolicy`` (default Honor) and ``nodeTaintsPolicy`` (default
  Ignore).
- pod affinity and anti-affinity terms: ``labelSelector``, ``topologyKey`` (required by the API; absent
  here means ``kubernetes.io/hostname``), ``namespaces`` and ``namespaceSelector`` (their union; both
  absent: the pod's own namespace; ``namespaceSelector: {}``: every namespace), ``matchLabelKeys`` and
  ``mismatchLabelKeys``; preferred terms carry their ``weight`` (1-100).
- preferred node affinity: each term's ``weight`` and ``preference`` (matchExpressions; ``Gt``/``Lt``
  dropped with a note).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from envs.spec import (
    HOSTNAME_LABEL,
    AntiAffinity,
    LabelRequirement,
    LabelSelector,
    PodAffinity,
    PreferredNodeTerm,
    TopologySpread,
)
from envs.twin.fields import Fields, Malformed

REVISION_LABELS = frozenset({"pod-template-hash", "controller-revision-hash"})
METADATA_NAME_LABEL = "kubernetes.io/metadata.name"
"""Every namespace carries this label with its own name (set by the API server)."""
_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class NamespaceIndex:
    """The namespaces of the input and their labels, to resolve ``namespaceSelector``s.

    A namespace seen only through its objects has just the ``kubernetes.io/metadata.name`` label.
    """

    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def matching(self, selector: LabelSelector) -> tuple[str, ...]:
        return tuple(sorted(ns for ns, labels in self.labels.items()
                            if selector.matches({**labels, METADATA_NAME_LABEL: ns})))


def label_selector(fields: Fields) -> LabelSelector:
    """A metav1.LabelSelector (matchLabels and matchExpressions)."""
    expressions = []
    for expr in fields.subs("matchExpressions"):
        op = expr.text("operator")
        if op not in _OPS:
            raise Malformed(f"{expr.path}.operator", op, "one of " + ", ".join(_OPS))
        expressions.append(LabelRequirement(expr.text("key"), op, tuple(expr.strings("values"))))  # type: ignore[arg-type]
    return LabelSelector(tuple(sorted(fields.string_map("matchLabels").items())), tuple(expressions))


def _term_selector(term: Fields, key: str = "labelSelector") -> LabelSelector:
    """An affinity or spread term's selector: absent selects no pod, ``{}`` every pod."""
    if term.raw(key) is None:
        return LabelSelector()
    selector = label_selector(term.sub(key))
    if not selector.match_labels and not selector.match_expressions:
        return replace(selector, every_pod=True)
    return selector


def _with_pod_labels(selector: LabelSelector, match: list[str], mismatch: list[str],
                     pod_labels: Mapping[str, str]) -> LabelSelector:
    extra = [LabelRequirement(k, "In", (pod_labels[k],)) for k in match if k in pod_labels]
    extra += [LabelRequirement(k, "NotIn", (pod_labels[k],)) for k in mismatch if k in pod_labels]
    if not extra:
        return selector
    return replace(selector, match_expressions=selector.match_expressions + tuple(extra), every_pod=False)


def topology_spread(spec: Fields, pod_labels: Mapping[str, str]) -> tuple[TopologySpread, ...]:
    out = []
    for c in spec.subs("topologySpreadConstraints"):
        skew = c.integer("maxSkew", 0)
        if skew < 1:
            raise Malformed(f"{c.path}.maxSkew", c.raw("maxSkew"), "an integer of at least 1")
        key = c.text("topologyKey")
        if not key:
            raise Malformed(f"{c.path}.topologyKey", c.raw("topologyKey"), "a node label key")
        when = c.text("whenUnsatisfiable", "DoNotSchedule")
        if when not in ("DoNotSchedule", "ScheduleAnyway"):
            raise Malformed(f"{c.path}.whenUnsatisfiable", when, "DoNotSchedule or ScheduleAnyway")
        min_domains = c.optional_integer("minDomains")
        if min_domains is not None and (min_domains < 1 or when != "DoNotSchedule"):
            raise Malformed(f"{c.path}.minDomains", min_domains, "an integer >= 1, with DoNotSchedule only")
        policies = {}
        for name, default in (("nodeAffinityPolicy", "Honor"), ("nodeTaintsPolicy", "Ignore")):
            policies[name] = c.text(name, default)
            if policies[name] not in ("Honor", "Ignore"):
                raise Malformed(f"{c.path}.{name}", policies[name], "Honor or Ignore")
        keys = c.strings("matchLabelKeys")
        out.append(TopologySpread(
            max_skew=skew,
            topology_key=key,
            selector=_with_pod_labels(_term_selector(c), keys, [], pod_labels),
            schedule_anyway=when == "ScheduleAnyway",
            min_domains=min_domains,
            same_revision=bool(REVISION_LABELS & set(keys)),
            honor_node_affinity=policies["nodeAffinityPolicy"] == "Honor",
            honor_taints=policies["nodeTaintsPolicy"] == "Honor",
        ))
    return tuple(out)


def _namespaces(term: Fields, index: NamespaceIndex) -> tuple[tuple[str, ...], bool]:
    """(namespaces, every namespace) of a term; ((), False) means the pod's own namespace."""
    listed = term.strings("namespaces")
    if term.raw("namespaceSelector") is None:
        return tuple(sorted(set(listed))), False
    selector = label_selector(term.sub("namespaceSelector"))
    if not selector.match_labels and not selector.match_expressions:
        return (), True
    chosen = tuple(sorted(set(listed) | set(index.matching(selector))))
    return chosen or ("",), False  # a selector that matches no namespace selects no pod


def _pod_terms(block: Fields, pod_labels: Mapping[str, str], index: NamespaceIndex,
               ) -> list[tuple[bool, int, LabelSelector, str, tuple[str, ...], bool]]:
    """(required, weight, selector, topology key, namespaces, every namespace) per term of a block."""
    out = []
    weighted = [(w.integer("weight", 1), w.sub("podAffinityTerm"))
                for w in block.subs("preferredDuringSchedulingIgnoredDuringExecution")]
    required = [(0, t) for t in block.subs("requiredDuringSchedulingIgnoredDuringExecution")]
    for is_required, terms in ((True, required), (False, weighted)):
        for weight, t in terms:
            if not is_required and not 1 <= weight <= 100:
                raise Malformed(f"{t.path}.weight", weight, "an integer from 1 to 100")
            selector = _with_pod_labels(_term_selector(t), t.strings("matchLabelKeys"),
                                        t.strings("mismatchLabelKeys"), pod_labels)
            namespaces, every = _namespaces(t, index)
            out.append((is_required, weight or 100, selector, t.text("topologyKey", HOSTNAME_LABEL), namespaces,
                        every))
    return out


def pod_affinity(affinity: Fields, pod_labels: Mapping[str, str], index: NamespaceIndex,
                 ) -> tuple[tuple[PodAffinity, ...], tuple[AntiAffinity, ...]]:
    near = _pod_terms(affinity.sub("podAffinity"), pod_labels, index)
    apart = _pod_terms(affinity.sub("podAntiAffinity"), pod_labels, index)
    return (tuple(PodAffinity(sel, key, req, weight, ns, every) for req, weight, sel, key, ns, every in near),
            tuple(AntiAffinity(sel, key, req, weight, ns, every) for req, weight, sel, key, ns, every in apart))


def preferred_node_terms(affinity: Fields, unmodelled: list[str]) -> tuple[PreferredNodeTerm, ...]:
    out = []
    for w in affinity.sub("nodeAffinity").subs("preferredDuringSchedulingIgnoredDuringExecution"):
        weight = w.integer("weight", 1)
        if not 1 <= weight <= 100:
            raise Malformed(f"{w.path}.weight", weight, "an integer from 1 to 100")
        reqs = []
        for expr in w.sub("preference").subs("matchExpressions"):
            op = expr.text("operator")
            if op in _OPS:
                reqs.append(LabelRequirement(expr.text("key"), op, tuple(expr.strings("values"))))  # type: ignore[arg-type]
            else:
                unmodelled.append(f"preferred node affinity operator {op} on {expr.text('key')} (ignored)")
        out.append(PreferredNodeTerm(weight, tuple(reqs)))
    return tuple(out)
