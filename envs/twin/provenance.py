"""What the twin inferred rather than read, each as the ``chaos-agent.io/`` annotation that would state it
and where it came from, so ``chaos-agent twin build`` can write it out for review."""

from __future__ import annotations

from envs.spec import Inference


class Provenance:
    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str, str], Inference] = {}

    def add(self, owner: str, annotation: str, value: str, source: str) -> None:
        """``owner`` as the builder describes objects: ``"Deployment ns/name"`` or ``"Service ns/name"``."""
        kind, ref = owner.split(" ", 1)
        namespace, name = ref.split("/", 1)
        self._items[(kind, namespace, name, annotation)] = Inference(kind, namespace, name, annotation, value, source)

    def items(self) -> tuple[Inference, ...]:
        return tuple(self._items[k] for k in sorted(self._items))
