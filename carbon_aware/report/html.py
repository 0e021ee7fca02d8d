"""The report as one standalone HTML page: the Markdown report's sections plus embedded charts."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence

from carbon_aware.decision import RegionDecision
from carbon_aware.footprint.calculation import Footprint
from carbon_aware.history.bigquery import FootprintHistory
from carbon_aware.intensity.base import IntensityReading
from carbon_aware.report._text import fmt, pct
from carbon_aware.report.bounds import orchestration_text
from carbon_aware.report.charts import emissions_chart_png, history_chart_png, intensity_chart_png
from carbon_aware.report.context import saving_in_context
from carbon_aware.report.markdown import HISTORY_HEADING, INTENSITY_HEADING, SAVINGS_HEADING

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem;
       color: #1f2328; line-height: 1.45; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
td, th { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f6f8fa; }
td:first-child { white-space: nowrap; }
img { max-width: 100%; height: auto; display: block; margin: .8rem 0; }
code { background: #f6f8fa; padding: 0 .25rem; border-radius: .25rem; }
.headline { font-size: 1.15rem; background: #dafbe1; padding: 1rem; border-radius: .5rem; }
.fallback, blockquote { background: #fff8c5; padding: .5rem 1rem; margin: .8rem 0; }
.chart-note { color: #57606a; font-style: italic; }
"""


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    # Untrusted text reaches the Markdown as numeric character references (report._text.md):
    # let them through as such, so they show as the character and never as markup.
    return re.sub(r"&amp;(#[0-9]{1,7};)", r"&\1", out)


def _table(lines: list[str]) -> str:
    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    right = [spec.endswith(":") for spec in cells(lines[1])]
    head = "".join(
        f"<th{' class=num' if r else ''}>{_inline(c)}</th>"
        for c, r in zip(cells(lines[0]), right, strict=False)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if r else ''}>{_inline(c)}</td>"
            for c, r in zip(cells(line), right, strict=False)
        )
        + "</tr>"
        for line in lines[2:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def markdown_to_html(text: str) -> str:
    """Converts the subset of Markdown the report uses (headings, tables, lists, quotes)."""
    blocks: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        group_start = index
        prefix = "|" if line.startswith("|") else "- " if line.startswith("- ") else None
        if prefix or line.startswith("> "):
            prefix = prefix or "> "
            while index < len(lines) and lines[index].startswith(prefix):
                index += 1
            group = lines[group_start:index]
            if prefix == "|":
                blocks.append(_table(group))
            elif prefix == "- ":
                items = "".join(f"<li>{_inline(item[2:])}</li>" for item in group)
                blocks.append(f"<ul>{items}</ul>")
            else:
                blocks.append(
                    f"<blockquote>{'<br>'.join(_inline(q[2:]) for q in group)}</blockquote>"
                )
            continue
        heading = re.match(r"^(#{1,3}) (.*)$", line)
        if heading:
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        else:
            blocks.append(f"<p>{_inline(line)}</p>")
        index += 1
    return "\n".join(blocks)


def _img(element_id: str, alt: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img id="{element_id}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _after(body: str, heading: str, extra: str) -> str:
    tag = f"<h2>{_inline(heading[3:])}</h2>"
    return body.replace(tag, tag + "\n" + extra, 1)


def render_html(
    footprint: Footprint,
    decision: RegionDecision,
    markdown_text: str,
    *,
    intensity_series: Mapping[str, Sequence[IntensityReading]] | None = None,
    history: FootprintHistory | None = None,
) -> str:
    """Renders a standalone HTML page: headline, the report's sections and embedded charts.

    Args:
        footprint: The run's footprint record.
        decision: choose-region's decision (its excluded regions are drawn with the reason).
        markdown_text: :func:`render_markdown` output; its sections become the page body.
        intensity_series: Intensity readings per region around the run, when fetched.
        history: The Carbon Footprint export summary, when configured.

    Returns:
        The HTML page; images are data URIs, so the file needs nothing else.
    """
    sections = markdown_text.split("\n## ", 1)
    body = markdown_to_html("## " + sections[1]) if len(sections) > 1 else ""
    emissions = _img(
        "emissions-chart",
        "gCO2e per region, with ranges; excluded regions with the reason",
        emissions_chart_png(footprint, decision.exclusions),
    )
    body = _after(body, SAVINGS_HEADING, emissions)
    series = intensity_series or {}
    window = footprint.intensity_window
    if series.get(footprint.region) and window.get("start_utc") and window.get("end_utc"):
        chart = intensity_chart_png(
            series,
            str(window["start_utc"]),
            str(window["end_utc"]),
            footprint.region,
            footprint.baseline_region,
        )
        intensity = _img("intensity-chart", "grid intensity over the run window", chart)
    else:
        intensity = (
            '<p class="chart-note" id="intensity-chart-note">No intensity series over the run '
            f"window from provider <code>{html.escape(footprint.provider)}</code>: the footprint "
            "uses the value the decision was made with.</p>"
        )
    body = _after(body, INTENSITY_HEADING, intensity)
    if history is not None and history.results.get("by_month"):
        trend = _img(
            "history-chart",
            "project kgCO2e by month",
            history_chart_png(history.results["by_month"]),
        )
        body = _after(body, HISTORY_HEADING, trend)
    fallback = (
        '<p class="fallback">Fallback figures for: '
        + html.escape(", ".join(footprint.fallback_regions))
        + "</p>"
        if footprint.fallback_regions
        else ""
    )
    sci = footprint.sci
    u = footprint.uncertainty
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Carbon footprint: {html.escape(footprint.region)}</title>
<style>{_STYLE}</style></head><body>
<h1>Carbon footprint of this training run</h1>
<p class="headline" id="headline">Trained in <b>{html.escape(footprint.region)}</b>:
<b id="co2e-g">{fmt(footprint.co2e_g)}</b> gCO2e vs {fmt(footprint.baseline_co2e_g)} gCO2e in
{html.escape(footprint.baseline_region)} &mdash;
<b id="savings-pct">{pct(footprint.savings_pct_vs_baseline)}</b>% less
(range <span id="savings-range">{pct(u["savings_pct_vs_baseline"][0])} to
{pct(u["savings_pct_vs_baseline"][1])}</span>%; the saving
<span id="saving-holds">{"holds" if u["saving_holds"] else "does not hold"}</span>
across the ranges).
Orchestration: <b id="orchestration-g">{orchestration_text(footprint)}</b>; net saving
<b id="net-savings-g">{fmt(footprint.net_savings_g_vs_baseline)}</b> g.
<span id="saving-context">{html.escape(saving_in_context(footprint.savings_g_vs_baseline))}.</span>
Embodied: <b id="embodied-g">{fmt(footprint.embodied_g)}</b> gCO2e.
Total (operational + orchestration + embodied, = SCI x R):
<b id="total-co2e-g">{fmt(footprint.total_co2e_g)}</b> gCO2e.
SCI: <b id="sci">{fmt(sci.value)}</b> {html.escape(sci.unit)}.</p>
{fallback}
{body}
</body></html>
"""
