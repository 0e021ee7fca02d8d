import base64
import re

from test_footprint import RUN_RECORD, make_decision

from carbon_aware.footprint import compute_footprint
from carbon_aware.report import emissions_chart_png, render_html, render_markdown


def render_both():
    decision = make_decision()
    fp = compute_footprint(decision, RUN_RECORD, pue=1.1)
    md = render_markdown(fp, decision, {"accuracy": 0.95})
    return fp, md, render_html(fp, decision, md)


def test_markdown_states_decision_savings_and_sources():
    fp, md, _ = render_both()
    assert "**Trained in `europe-north1`**" in md
    assert f"**{fp.savings_pct_vs_baseline:.1f}%**" in md
    assert "| 1 | europe-north1 | ZZ | 40.0 | latest | 2026-11-23T10:00:00Z | [1] |" in md
    assert "[1] unit-test" in md
    assert "us-central1 | baseline, not a candidate" in md
    assert "energy (kWh) x PUE x grid intensity" in md
    assert "Test accuracy: 0.9500" in md


def test_html_stands_alone_with_an_embedded_chart_and_consistent_numbers():
    fp, _, page = render_both()
    match = re.search(r'id="emissions-chart"[^>]*src="data:image/png;base64,([^"]+)"', page)
    assert match, "chart missing"
    assert base64.b64decode(match.group(1)).startswith(b"\x89PNG")
    assert f'<b id="savings-pct">{fp.savings_pct_vs_baseline:.1f}</b>' in page
    assert "http://" not in page and "https://" not in page


def test_chart_is_a_png():
    fp, _, _ = render_both()
    assert emissions_chart_png(fp)[:4] == b"\x89PNG"


def test_fallback_regions_are_called_out():
    decision = make_decision()
    fp = compute_footprint(decision, RUN_RECORD)
    fp = type(fp)(**{**fp.__dict__, "fallback_regions": ["europe-west1"]})
    md = render_markdown(fp, decision, {"accuracy": 1.0})
    assert "**Fallback data:**" in md and "europe-west1" in md
    assert "Fallback figures for: europe-west1" in render_html(fp, decision, md)
