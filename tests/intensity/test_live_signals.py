"""Marginal and average figures are different quantities: a ranking says when it mixes them."""

from carbon_aware.decision import choose_region
from carbon_aware.intensity import IntensitySnapshot
from carbon_aware.intensity.watttime import WattTimeProvider

from .test_live_watttime import data


def snapshot(readings):
    return IntensitySnapshot("watttime", "2026-05-01T10:00:00Z", tuple(readings))


def test_marginal_and_average_figures_ranked_together_are_named(loopback, client, keys):
    # WattTime serves us-west1 (BPA, co2_moer: marginal); europe-west1 has no WattTime region and
    # falls back to Google's annual average. The decision must say the ranking mixes them.
    loopback.route("/login", loopback.Reply(200, {"token": keys.wt_token}))
    loopback.route("/v3/forecast", loopback.Reply(200, data("BPA", (400.0,))))
    readings = WattTimeProvider(client=client).latest(["us-west1", "europe-west1"])
    assert [r.signal for r in readings] == ["marginal", "average"]
    decision = choose_region(snapshot(readings), ["us-west1", "europe-west1"], "europe-west1")
    [note] = [n for n in decision.notes if "mixes signals" in n]
    assert "marginal: us-west1" in note and "average: europe-west1" in note
    assert {r.region: r.signal for r in decision.ranking} == {
        "us-west1": "marginal",
        "europe-west1": "average",
    }


def test_a_ranking_of_one_kind_has_no_such_note(loopback, client, keys):
    loopback.route("/login", loopback.Reply(200, {"token": keys.wt_token}))
    loopback.route("/v3/forecast", lambda r: loopback.Reply(200, data(r.query["region"])))
    readings = WattTimeProvider(client=client).latest(["us-west1", "us-west3"])
    decision = choose_region(snapshot(readings), ["us-west1", "us-west3"], "us-west1")
    assert not [n for n in decision.notes if "mixes signals" in n]
