"""The footprint report: Markdown for the Vertex console, and a standalone HTML page with charts."""

from carbon_aware.report.charts import emissions_chart_png, history_chart_png, intensity_chart_png
from carbon_aware.report.html import markdown_to_html, render_html
from carbon_aware.report.markdown import SAVINGS_HEADER, render_markdown

__all__ = [
    "SAVINGS_HEADER",
    "emissions_chart_png",
    "history_chart_png",
    "intensity_chart_png",
    "markdown_to_html",
    "render_html",
    "render_markdown",
]
