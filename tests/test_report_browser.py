"""The HTML report in a real browser: headless Chromium (Debian's `chromium` package).

It loads without console errors, and both charts (emissions by region with ranges and the
excluded region; intensity over the run window) are decoded images with a drawn size. A page
with a deliberate console error proves the check can fail. Skips when chromium is absent:
install it with `apt-get install -y chromium` (the Makefile's `browser-deps` target).
"""

import re
import shutil
import subprocess

import pytest
from footprint.test_calculation import RUN_RECORD, hourly

from carbon_aware.decision import choose_region
from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.intensity import IntensitySnapshot
from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.planning.constraints import Constraints
from carbon_aware.report import render_html, render_markdown

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"
)
# After load, write what the page drew into the DOM, so --dump-dom shows it.
PROBE = """<script>
window.addEventListener("load", () => {
  const size = i => i.complete && i.naturalWidth > 0
    ? i.naturalWidth + "x" + i.naturalHeight : "broken";
  const drawn = [...document.images].map(i => `${i.id}:${size(i)}`);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = "DRAWN " + drawn.join(" ");
  document.body.appendChild(out);
});
</script>"""


def report_page():
    values = {"europe-north1": 40.0, "europe-west1": 100.0, "us-central1": 400.0}
    snapshot = IntensitySnapshot(
        "test",
        "2026-11-23T10:00:00Z",
        tuple(
            IntensityReading(r, "ZZ", v, "2026-11-23T10:00:00Z", "unit-test", IntensityKind.LATEST)
            for r, v in values.items()
        ),
    )
    decision = choose_region(
        snapshot,
        ["europe-north1", "europe-west1"],
        "us-central1",
        Constraints(max_carbon_intensity=50.0),
    )
    series = {
        "europe-north1": hourly("europe-north1", 8, [30.0, 40.0, 50.0, 45.0]),
        "us-central1": hourly("us-central1", 8, [380.0, 400.0, 420.0, 410.0]),
    }
    footprint = compute_footprint(decision, RUN_RECORD, pue=1.1, intensity_series=series)
    markdown = render_markdown(footprint, decision, {"accuracy": 0.95})
    return render_html(footprint, decision, markdown, intensity_series=series), decision


def load_in_chromium(page, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done, console


def test_the_report_loads_without_console_errors_and_draws_both_charts(tmp_path):
    page, decision = report_page()
    assert decision.exclusions  # europe-west1 is over the cap: drawn as excluded
    done, console = load_in_chromium(page, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert console == []
    [probe] = re.findall(r"<pre id=\"probe\">DRAWN ([^<]*)</pre>", done.stdout)
    drawn = dict(item.split(":") for item in probe.split())
    assert set(drawn) == {"emissions-chart", "intensity-chart"}
    for size in drawn.values():
        width, height = (int(v) for v in size.split("x"))
        assert width >= 400 and height >= 150


def test_a_console_error_is_caught(tmp_path):
    page = "<!DOCTYPE html><html><body><script>console.error('broken')</script></body></html>"
    _, console = load_in_chromium(page, tmp_path)
    assert any("broken" in line for line in console)
