"""The simulator as controller manager, scheduler and kubelets behind the emulator.

``SimulatedControlPlane`` mirrors a ``SimulatedCluster``'s nodes, workloads and pods into the
emulator as complete objects, and feeds what clients do through the API back into the simulator:
a pod deleted or evicted is deleted there (so its controller replaces it after the modelled
delays), a cordon stops scheduling onto the node, a NoExecute taint evicts the pods that do not
tolerate it (the taint manager), and a node's allocatable ``nvidia.com/gpu`` lowered in its status
takes devices out of the scheduler's count (free devices first), as a device plugin's report would.
``advance(seconds)`` lets simulated time pass and mirrors again.
Evictions are checked against PDBs by the emulator itself, from the mirrored pods' readiness.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from envs.sim import SimulatedCluster
from envs.sim.state import RUNNING, STARTING, TERMINATING, Pod, WorkloadState
from envs.spec import GPU_RESOURCE, ClusterSpec, NodeSpec, PodTemplate, Taint, Workload
from tests.emulator.objects import controller_ref
from tests.emulator.server import KubernetesEmulator
from tests.emulator.store import ApiStatus, Event, Obj

TAINT_HOLDER = "api-taint:"
CORDON_HOLDER = "api-cordon"


def _template(t: PodTemplate) -> Obj:
    requests = {"cpu": f"{t.cpu_millis}m", "memory": f"{t.memory_mib}Mi"}
    resources: Obj = {"requests": dict(requests)}
    if t.gpus:
        resources["requests"][GPU_RESOURCE] = str(t.gpus)
        resources["limits"] = {GPU_RESOURCE: str(t.gpus)}
    tolerations = [
        {
            k: v
            for k, v in (
                ("key", tol.key),
                ("operator", tol.operator),
                ("value", tol.value or None),
                ("effect", tol.effect),
            )
            if v is not None
        }
        for tol in t.tolerations
    ]
    spec: Obj = {
        "containers": [{"name": "main", "image": "example/app:1", "resources": resources}],
        "terminationGracePeriodSeconds": int(t.termination_grace_s),
    }
    if tolerations:
        spec["tolerations"] = tolerations
    return {"metadata": {"labels": dict(t.labels)}, "spec": spec}


def _node(n: NodeSpec) -> Obj:
    capacity = {"cpu": f"{n.cpu_millis}m", "memory": f"{n.memory_mib}Mi", "pods": "110"}
    if n.gpus:
        capacity[GPU_RESOURCE] = str(n.gpus)
    spec: Obj = {}
    if n.taints:
        spec["taints"] = [{"key": t.key, "value": t.value, "effect": t.effect} for t in n.taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": n.name, "labels": {"kubernetes.io/hostname": n.name, **n.label_map}},
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _workload(w: Workload) -> Obj:
    labels = dict(w.template.labels)
    spec: Obj = {"selector": {"matchLabels": labels}, "template": _template(w.template)}
    if w.kind == "Job":
        spec.update(parallelism=w.replicas, completions=w.replicas, backoffLimit=6)
        spec["template"]["spec"]["restartPolicy"] = "Never"
    else:
        spec["replicas"] = w.replicas
    if w.kind == "StatefulSet":
        spec["serviceName"] = w.name
    return {
        "apiVersion": "batch/v1" if w.kind == "Job" else "apps/v1",
        "kind": w.kind,
        "metadata": {"name": w.name, "namespace": w.namespace, "labels": dict(w.labels) or labels},
        "spec": spec,
    }


class SimulatedControlPlane:
    def __init__(self, emulator: KubernetesEmulator, spec: ClusterSpec, *, seed: int = 0) -> None:
        self.em = emulator
        self.sim = SimulatedCluster(spec, seed=seed)
        self._events: queue.Queue[Event] = queue.Queue()
        self._mirroring = threading.local()
        self._owners: dict[str, Obj] = {}
        self._gpus_out: dict[str, list[int]] = {}
        """Node -> the devices held failed because the API showed fewer allocatable GPUs."""
        self._unsubscribe = emulator.store.subscribe(self._observe)
        with self._own_writes():
            self._create_topology(spec)
        self.mirror()

    # ---- API -> simulator --------------------------------------------------------------------
    def _observe(self, event: Event) -> None:
        if not getattr(self._mirroring, "on", False):
            self._events.put(event)

    def _own_writes(self) -> Any:
        plane = self

        class _Guard:
            def __enter__(self) -> None:
                plane._mirroring.on = True

            def __exit__(self, *exc: object) -> None:
                plane._mirroring.on = False

        return _Guard()

    def feed(self) -> None:
        """Apply to the simulator what clients did through the API since the last call."""
        while True:
            try:
                _rv, rt, kind, obj = self._events.get_nowait()
            except queue.Empty:
                return
            if rt.kind == "Pod" and kind == "DELETED":
                self._pod_deleted(obj)
            elif rt.kind == "Node" and kind == "MODIFIED":
                self._node_changed(obj)

    def _sim_pod(self, name: str) -> tuple[WorkloadState, Pod] | None:
        for ws in self.sim.wls:
            for pod in ws.pods:
                if pod.name == name:
                    return ws, pod
        return None

    def _grace(self, obj: Obj, ws: WorkloadState) -> float:
        """The grace period the deleting request asked for (DELETE or Eviction), else the pod's own."""
        name = obj["metadata"]["name"]
        for r in reversed(self.em.requests):
            if r.path.endswith(f"/pods/{name}") and r.method == "DELETE" and isinstance(r.body, dict):
                grace = r.body.get("gracePeriodSeconds")
            elif r.path.endswith(f"/pods/{name}/eviction") and isinstance(r.body, dict):
                grace = (r.body.get("deleteOptions") or {}).get("gracePeriodSeconds")
            else:
                continue
            if grace is not None:
                return float(grace)
            break
        return ws.spec.template.termination_grace_s

    def _pod_deleted(self, obj: Obj) -> None:
        found = self._sim_pod(obj["metadata"]["name"])
        if found is not None:
            ws, pod = found
            self.sim.delete_pod(pod, grace_s=self._grace(obj, ws))

    def _node_changed(self, obj: Obj) -> None:
        node = next((n for n in self.sim.nodes if n.name == obj["metadata"]["name"]), None)
        if node is None:
            return
        if (obj.get("spec") or {}).get("unschedulable"):
            node.cordons.add(CORDON_HOLDER)
        else:
            node.cordons.discard(CORDON_HOLDER)
        base = {(t.key, t.effect) for t in node.spec.taints}
        taints = [
            Taint(t["key"], t["effect"], t.get("value", ""))
            for t in (obj.get("spec") or {}).get("taints") or []
            if (t["key"], t["effect"]) not in base and t["effect"] in ("NoSchedule", "NoExecute")
        ]
        self._mirror_gpus(node, obj)
        node.cordons -= {h for h in node.cordons if h.startswith(TAINT_HOLDER)}
        node.cordons |= {f"{TAINT_HOLDER}{t.key}" for t in taints}
        for taint in (t for t in taints if t.effect == "NoExecute"):
            for pod in sorted(node.pods, key=lambda p: p.name):
                ws = self.sim.wls[pod.w]
                if pod.phase == TERMINATING or pod not in ws.pods:
                    continue
                if not any(tol.tolerates(taint) for tol in ws.spec.template.tolerations):
                    self.sim.delete_pod(pod, grace_s=ws.spec.template.termination_grace_s)
        self.sim.request_schedule()

    def _mirror_gpus(self, node: Any, obj: Obj) -> None:
        allocatable = ((obj.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE)
        if allocatable is None or not node.spec.gpus:
            return
        wanted = max(0, min(node.spec.gpus, node.spec.gpus - int(allocatable)))
        held = self._gpus_out.get(node.name, [])
        if len(held) == wanted:
            return
        for d in held:
            node.gpu_failed[d] -= 1
        order = sorted(range(node.spec.gpus), key=lambda d: (node.gpu_owner[d] is not None, d))
        self._gpus_out[node.name] = order[:wanted]
        for d in order[:wanted]:
            node.gpu_failed[d] += 1

    # ---- simulator -> API --------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        self.feed()
        self.sim.wait(seconds)
        self.mirror()

    def _create_topology(self, spec: ClusterSpec) -> None:
        for n in spec.nodes:
            self.em.put(_node(n))
        for w in spec.workloads:
            self._owners[w.key] = self.em.put(_workload(w))
        for s in spec.services:
            self.em.put(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": s.name, "namespace": s.namespace},
                    "spec": {
                        "selector": dict(s.selector.match_labels),
                        "type": s.type,
                        "ports": [{"port": 80, "targetPort": 8080}],
                    },
                }
            )
        for p in spec.pdbs:
            pdb_spec: Obj = {"selector": {"matchLabels": dict(p.selector.match_labels)}}
            for key, value in (("minAvailable", p.min_available), ("maxUnavailable", p.max_unavailable)):
                if value is not None:
                    pdb_spec[key] = value
            self.em.put(
                {
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": {"name": p.name, "namespace": p.namespace},
                    "spec": pdb_spec,
                }
            )

    def _owner_of(self, ws: WorkloadState, pod: Pod) -> Obj:
        owner = self._owners[ws.spec.key]
        if ws.spec.kind != "Deployment":
            return owner
        rs_name = pod.name.rsplit("-", 1)[0]
        key = f"{ws.spec.namespace}/ReplicaSet/{rs_name}"
        if key not in self._owners:
            spec = {**owner["spec"], "replicas": ws.desired}
            self._owners[key] = self.em.put(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": rs_name,
                        "namespace": ws.spec.namespace,
                        "labels": dict(owner["spec"]["selector"]["matchLabels"]),
                        "ownerReferences": [controller_ref(owner)],
                    },
                    "spec": spec,
                }
            )
        return self._owners[key]

    def _pod_object(self, ws: WorkloadState, pod: Pod) -> Obj:
        owner = self._owner_of(ws, pod)
        phase = {RUNNING: "Running", STARTING: "Running" if pod.node is not None else "Pending"}.get(
            pod.phase, "Pending"
        )
        spec = {**_template(ws.spec.template)["spec"]}
        if pod.node is not None:
            spec["nodeName"] = pod.node.name
        ready = "True" if pod.ready else "False"
        status: Obj = {
            "phase": phase,
            "conditions": [
                {"type": "PodScheduled", "status": "True" if pod.node is not None else "False"},
                {"type": "Ready", "status": ready},
            ],
        }
        if pod.node is not None:
            state = (
                {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
                if pod.phase == RUNNING
                else {"waiting": {"reason": "ContainerCreating"}}
            )
            status["containerStatuses"] = [
                {
                    "name": "main",
                    "ready": pod.ready,
                    "restartCount": pod.restarts,
                    "image": "example/app:1",
                    "imageID": "",
                    "state": state,
                }
            ]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod.name,
                "namespace": ws.spec.namespace,
                "labels": dict(ws.spec.template.labels),
                "ownerReferences": [controller_ref(owner, block_owner_deletion=True)],
            },
            "spec": spec,
            "status": status,
        }

    def mirror(self) -> None:
        """Write the simulator's pods and node readiness into the emulator."""
        pod_type, node_type = self.em.type_of("Pod"), self.em.type_of("Node")
        with self._own_writes():
            wanted: dict[tuple[str, str], Obj] = {}
            for ws in self.sim.wls:
                for pod in ws.pods:
                    if pod.phase != TERMINATING:
                        wanted[(ws.spec.namespace, pod.name)] = self._pod_object(ws, pod)
            current = {
                (p["metadata"]["namespace"], p["metadata"]["name"]): p
                for p in self.em.list("Pod")
                if any(
                    r.get("uid") in {o["metadata"]["uid"] for o in self._owners.values()}
                    for r in p["metadata"].get("ownerReferences") or []
                )
            }
            for key in sorted(set(current) - set(wanted)):
                try:
                    self.em.store.delete(pod_type, key[0], key[1])
                except ApiStatus:
                    continue
            for key, obj in sorted(wanted.items()):
                if key not in current:
                    self.em.put(obj)
                    continue
                now = current[key]
                if now["status"] != obj["status"] or now["spec"].get("nodeName") != obj["spec"].get("nodeName"):
                    self.em.store.update(pod_type, key[0], key[1], lambda o, new=obj: {**o, "spec": new["spec"]})
                    self.em.store.update(
                        pod_type,
                        key[0],
                        key[1],
                        lambda o, new=obj: {**o, "status": new["status"]},
                        subresource="status",
                    )
            for node in self.sim.nodes:
                ready = "True" if node.ready else "False"
                self.em.store.update(
                    node_type,
                    "",
                    node.name,
                    lambda o, r=ready: {**o, "status": {**o["status"], "conditions": [{"type": "Ready", "status": r}]}},
                    subresource="status",
                )

    def close(self) -> None:
        self._unsubscribe()
