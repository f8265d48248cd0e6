"""The analytic request model: load, success share and p99 latency per Service, from the pod state.

Evaluated only when something changed (``SimulatedCluster.dirty``): load flows caller -> callee in
the compiled call order, success and latency flow back callee -> caller. See docs/simulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from envs.sim.compiled import CompiledCall
from envs.spec import EntryClient

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster

LIKELY = 0.01
"""A failed attempt counts toward p99 when it is likelier than this."""
MAX_UTILISATION = 0.95
IDLE_CPU = 0.05
"""CPU use of an idle pod, as a share of its request."""
CPU_LIMIT_SHARE = 2.0
"""A pod's CPU use cannot exceed this multiple of its request (its limit)."""
REFUSED_MS = 1.0
"""Cost of an attempt at a Service with no endpoints: the connection is refused at once."""


@dataclass
class Traffic:
    availability: dict[str, float]
    """Entry-point Service key -> share answered (as an external client sees it)."""
    latency_p99_ms: dict[str, float]
    served_ok: list[float]
    """Per Service: share of its offered requests answered successfully."""
    p99_ms: list[float]
    load: list[float]
    cpu_utilisation: list[float]
    """Per workload: CPU use per pod as a share of its request (what the HPA reads)."""


def evaluate(sim: SimulatedCluster) -> Traffic:
    c = sim.c
    services = sim.spec.services
    wls = sim.wls
    n_w = len(wls)
    endpoints = [0] * n_w
    broken = [0] * n_w
    hung = [0] * n_w
    for i, ws in enumerate(wls):
        e = b = h = 0
        for p in ws.pods:
            if p.ready:
                e += 1
                if not p.alive or p.partitions:
                    b += 1
                    # On a stopped node or behind a partition a connection hangs; a process still cold-starting
                    # refuses it at once.
                    if p.partitions or p.node is None or p.node.down:
                        h += 1
        endpoints[i], broken[i], hung[i] = e, b, h
    n_s = len(services)
    load = [s.load_rps if s.entrypoint else 0.0 for s in services]
    back = c.back_edges
    for s in c.load_order:
        offered = load[s]
        if offered:
            for call in c.svc_calls[s]:
                if back and (s, call.callee) in back:
                    continue
                if call.plain:
                    load[call.callee] += offered
                elif call.cache_ttl_s <= 0:
                    load[call.callee] += offered * call.per_request
    e_s = [0] * n_s
    b_s = [0] * n_s
    h_s = [0] * n_s
    cap = [0.0] * n_s
    lat = [0.0] * n_s
    jit = [0.0] * n_s
    loss = [0.0] * n_s
    leader_ok = [True] * n_s
    wl_load = [0.0] * n_w
    for s in range(n_s):
        e = b = h = 0
        cp = la = ji = lo = 0.0
        for w in c.svc_workloads[s]:
            ws = wls[w]
            ew = endpoints[w]
            e += ew
            b += broken[w]
            h += hung[w]
            cp += (ew - broken[w]) * ws.spec.capacity_rps_per_pod * (1.0 - ws.stress)
            la += ew * ws.latency_ms
            ji += ew * ws.jitter_ms
            lo += ew * ws.loss
            if ws.spec.leader_failover_s > 0 and (ws.leader is None or not ws.leader.alive):
                leader_ok[s] = False
        e_s[s], b_s[s], h_s[s], cap[s] = e, b, h, cp
        if e:
            lat[s], jit[s], loss[s] = la / e, ji / e, lo / e
            for w in c.svc_workloads[s]:
                wl_load[w] += load[s] * endpoints[w] / e
    # A call that closes a cycle reads the callee's result of a first pass (healthy before it), so
    # the outcome depends on the state only, never on how often the model was evaluated.
    ok = [1.0] * n_s
    p99 = [s.base_latency_ms for s in services]
    for _ in range(2 if back else 1):
        ok, p99 = _success_pass(sim, e_s, b_s, h_s, cap, lat, jit, loss, leader_ok, load, ok, p99)
    served = [0.0] * n_s
    availability: dict[str, float] = {}
    latency: dict[str, float] = {}
    for s, spec in enumerate(services):
        if e_s[s]:
            reached = (1.0 - b_s[s] / e_s[s]) * (1.0 - loss[s])
            served[s] = reached * ok[s]
        if spec.entrypoint:
            own = p99[s] + lat[s] + 2.0 * jit[s]
            if spec.client.tries <= 1 or not e_s[s]:
                availability[spec.key], latency[spec.key] = served[s], own
            else:
                availability[spec.key], latency[spec.key] = _through_client(
                    spec.client, e_s[s], b_s[s], h_s[s], loss[s], ok[s], own)
    util = [0.0] * n_w
    for i, ws in enumerate(wls):
        serving_w = endpoints[i] - broken[i]
        per_pod = wl_load[i] / (serving_w * ws.spec.capacity_rps_per_pod) if serving_w else 0.0
        util[i] = min(CPU_LIMIT_SHARE, IDLE_CPU + per_pod + ws.stress)
    return Traffic(availability, latency, served, p99, load, util)


def _scaled_call(sim: SimulatedCluster, call: CompiledCall, s: int, q: float, attempt: float,
                 fail_cost: float) -> tuple[float, float]:
    """(success factor, p99 added) of a call not made once on every request: made on a share of the requests
    (it fails only those), several times per request (each must succeed, each takes its time), or cached
    (only callers whose cache is cold make it)."""
    exposed = 1.0 if call.cache_ttl_s <= 0 else _cold_share(sim, s, call.callee, call.cache_ttl_s)
    if exposed <= 0.0:
        return 1.0, 0.0  # every caller answers from its cache
    share, times = min(call.per_request, 1.0) * exposed, max(call.per_request, 1.0)
    fail = q ** (call.retries + 1)
    if call.fallback:
        return 1.0, times * min(attempt, call.timeout_ms) if fail <= LIKELY and share > LIKELY else 0.0
    failed, reach = 0, share
    for _ in range(call.retries + 1):
        if reach * q > LIKELY:
            failed += 1
            reach *= q
        else:
            break
    extra = times * failed * fail_cost
    if failed <= call.retries and share > LIKELY and call.cache_ttl_s <= 0:
        extra += times * min(attempt, call.timeout_ms)
    return 1.0 - share * (1.0 - (1.0 - fail) ** times), extra


def _cold_share(sim: SimulatedCluster, s: int, t: int, ttl_s: float) -> float:
    """Share of Service ``s``'s serving pods whose cache of ``t``'s answers is cold: while ``t`` is down, the pods
    that started since it went down, and every pod once the outage outlasts the cache's lifetime."""
    c, wls = sim.c, sim.wls
    downs = [wls[w].down_since for w in c.svc_workloads[t]]
    if not downs or any(d is None for d in downs):
        return 0.0
    since = max(d for d in downs if d is not None)
    if sim.t - since >= ttl_s:
        return 1.0
    serving = [p for w in c.svc_workloads[s] for p in wls[w].pods if p.alive]
    if not serving:
        return 0.0
    return sum(1 for p in serving if p.up_since >= since) / len(serving)


def _through_client(client: EntryClient, endpoints: int, broken: int, hung: int, loss: float, ok: float,
                    latency_ms: float) -> tuple[float, float]:
    """(availability, p99) an entry point's users see through a client that tries ``client.tries`` endpoints.

    A connection that fails (a broken endpoint, a lost packet) is retried on another endpoint, one not yet
    tried while there is one (nginx's next upstream, ingress-nginx's EWMA balancer and, unless other requests
    move it on, its round robin; Envoy's ``previous_hosts``);
    once every endpoint has been tried, the tries left go to endpoints already tried (ingress-nginx's EWMA
    balancer then picks among all of them again, its round robin simply goes on), so a broken one fails
    again and a lost packet is another draw. One that hangs (a stopped node, a partition, a lost packet)
    first costs the connect timeout. An answered error is retried only with ``retry_on_error``.
    """
    fail_all = 1.0  # every attempt so far failed in a way the client retries
    answered_error = 0.0  # an attempt reached a serving endpoint that answered an error (not retried)
    waits = 0
    for k in range(client.tries):
        if k < endpoints:  # an endpoint not tried yet; the failed tries took the broken ones first
            left = endpoints - k
            p_broken, p_hung = max(0, broken - k) / left, max(0, hung - k) / left
        else:  # every endpoint tried: one of them again
            p_broken, p_hung = broken / endpoints, hung / endpoints
        p_retry = 1.0 - (1.0 - p_broken) * (1.0 - loss)
        if fail_all * (1.0 - (1.0 - p_hung) * (1.0 - loss)) > LIKELY and k < client.tries - 1:
            waits += 1
        if client.retry_on_error:
            fail_all *= 1.0 - (1.0 - p_retry) * ok
        else:
            answered_error += fail_all * (1.0 - p_retry) * (1.0 - ok)
            fail_all *= p_retry
    return max(0.0, 1.0 - fail_all - answered_error), latency_ms + waits * client.connect_timeout_ms


def _success_pass(
    sim: SimulatedCluster, e_s: list[int], b_s: list[int], h_s: list[int], cap: list[float], lat: list[float],
    jit: list[float], loss: list[float], leader_ok: list[bool], load: list[float],
    prev_ok: list[float], prev_p99: list[float],
) -> tuple[list[float], list[float]]:
    """Success share and p99 per Service, callees before callers."""
    c = sim.c
    services = sim.spec.services
    ok = list(prev_ok)
    p99 = list(prev_p99)
    done = [False] * len(services)
    for s in reversed(c.load_order):
        spec = services[s]
        serving = e_s[s] - b_s[s]
        if serving <= 0 or cap[s] <= 0:
            own_ok, own_lat = 0.0, spec.base_latency_ms
        else:
            u = load[s] * serving / e_s[s] / cap[s]
            own_ok = 1.0 - (1.0 - 1.0 / u) if u > 1.0 else 1.0
            own_lat = spec.base_latency_ms / (1.0 - min(u, MAX_UTILISATION))
        if not leader_ok[s]:
            own_ok = 0.0
        total_ok, total_lat = own_ok, own_lat
        for call in c.svc_calls[s]:
            t = call.callee
            ok_t, p99_t = (ok[t], p99[t]) if done[t] else (prev_ok[t], prev_p99[t])
            if e_s[t] == 0:
                q, attempt, fail_cost = 1.0, REFUSED_MS, REFUSED_MS
            else:
                attempt = p99_t + lat[t] + 2.0 * jit[t]
                if attempt > call.timeout_ms:
                    q, fail_cost = 1.0, call.timeout_ms
                else:
                    share_b = b_s[t] / e_s[t]
                    q = 1.0 - (1.0 - share_b) * (1.0 - loss[t]) * ok_t
                    fail_cost = call.timeout_ms if (h_s[t] > 0 or loss[t] > 0) else attempt
            if not call.plain:
                factor, extra = _scaled_call(sim, call, s, q, attempt, fail_cost)
                total_ok *= factor
                total_lat += extra
                continue
            fail = q ** (call.retries + 1)
            if call.fallback:
                if fail <= LIKELY:
                    total_lat += min(attempt, call.timeout_ms)
                continue  # the fallback answers; an open breaker answers at once
            total_ok *= 1.0 - fail
            failed, reach = 0, 1.0
            for _ in range(call.retries + 1):
                if reach * q > LIKELY:
                    failed += 1
                    reach *= q
                else:
                    break
            total_lat += failed * fail_cost
            if failed <= call.retries:
                total_lat += min(attempt, call.timeout_ms)
        ok[s], p99[s] = total_ok, total_lat
        done[s] = True
    return ok, p99
