"""The service on the simulated cluster (``run --serve``), in process: game-day slots run with their
budget, findings are stored, a stop request ends the loop with every fault reverted and exit code 0."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pytest_httpserver import HTTPServer

from agent.audit import RecordKind, open_intents, verify
from agent.config import load_config
from agent.daemon import Service
from agent.weaknesses.store import WeaknessStore
from tests.agent.daemon.harness import agent_config, free_port, http_get, intents, journal_records, wait_for


def test_serve_on_the_simulator_spends_the_game_day_budget_then_stops_cleanly(
        tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    port = free_port()
    path = agent_config(tmp_path, kubeconfig=None, port=port, budget=8,
                        extra='[cluster.simulated]\nscenario = "ml-platform"\nseed = 5\n'
                              f'[exporters.webhook]\nurl = "{httpserver.url_for("/hook")}"\n')
    text = path.read_text().replace("fault_duration_s = 0.3", "fault_duration_s = 60").replace(
        "sample_every_s = 0.1", "sample_every_s = 15").replace("recovery_s = 0.2", "recovery_s = 60")
    path.write_text(text)
    service = Service(load_config(path))
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(service.run()), daemon=True)
    thread.start()
    journal = tmp_path / "audit.jsonl"
    # the whole slot: eight injections, all reverted (a finding among eight is as good as certain here)
    wait_for(lambda: len(intents(journal)) >= 8 and not open_intents(journal), 90, "the game day's eight injections")

    def stored() -> set[str]:
        with WeaknessStore(tmp_path / "findings.sqlite") as store:
            return {w.id for w in store.all()}

    wait_for(lambda: "chaos_agent_injections_total{" in http_get(f"http://127.0.0.1:{port}/metrics")[1], 10,
             "injections on /metrics")
    assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    service.stop("test")
    thread.join(30)
    assert codes == [0]
    assert len(intents(journal)) == 8, "the session's budget of 8 was exceeded"
    assert open_intents(journal) == [] and verify(journal).ok
    assert any(r.kind is RecordKind.NOTE and (r.detail or "").startswith("service stopped")
               for r in journal_records(journal))
    # one ticket per weakness the slot's findings show (the guard of this config may leave a slot without any),
    # sent after it, before the service stopped
    posted = {json.loads(request.data)["weakness"]["id"] for request, _ in httpserver.log}
    assert posted == stored(), "the slot's weaknesses were not exported after it"
    assert {json.loads(r.data)["event"] for r, _ in httpserver.log} <= {"weakness.opened"}


class _FastClock:
    """Wall-clock time that jumps two hours at every reading, so a week of schedule passes in seconds."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(hours=2)
        return self.now


def test_continuous_slots_fall_in_business_hours_off_blackout_dates_one_injection_each(tmp_path: Path) -> None:
    path = agent_config(tmp_path, kubeconfig=None, port=free_port(),
                        extra='[cluster.simulated]\nscenario = "ml-platform"\nseed = 9\n')
    text = path.read_text().replace('mode = "game_days"', 'mode = "continuous"\ntimezone = "Europe/Berlin"\n'
                                    'mean_interval_s = 3600\nblackout_dates = ["2026-11-23"]')
    text = text[:text.index("[[schedule.game_days]]")] + text[text.index("[service]"):]
    path.write_text(text.replace("kill_switch_poll_s = 0.2", "kill_switch_poll_s = 0.1"))
    berlin = ZoneInfo("Europe/Berlin")
    service = Service(load_config(path), clock=_FastClock(datetime(2026, 11, 21, 12, 0, tzinfo=berlin)))  # a Saturday
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    wait_for(lambda: len(service.slots) >= 3, 60, "three continuous slots")
    service.stop("test")
    thread.join(30)
    for slot in service.slots:
        local = slot.at.astimezone(berlin)
        assert slot.session is None
        assert local.weekday() < 5 and local.date() != date(2026, 11, 23), local  # weekdays, not the blackout
        assert time(9, 0) <= local.time() < time(17, 0), local
    assert service.slots[0].at.astimezone(berlin).date() == date(2026, 11, 24)  # Monday is a blackout date
    assert 1 <= len(intents(tmp_path / "audit.jsonl")) <= len(service.slots)  # one injection per slot at most
