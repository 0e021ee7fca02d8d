"""Every string the user's program controls is escaped in report.md and report.html."""

import re

from footprint.test_calculation import RUN_RECORD, make_decision

from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.report import markdown_to_html, render_html, render_markdown
from carbon_aware.report._text import md, md_code

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "a`b` **bold**",
    "x | y | z",
    "acc\n## Forged section\n| forged | row |",
    "line\u2028## sep",
]


def _render(hostile: str) -> tuple[str, str]:
    run = {
        **RUN_RECORD,
        "backend": hostile,
        "training": {
            "command": ["python", hostile, "--flag"],
            "image": hostile,
            "output_dir": f"/out/{hostile}",
            "model_dir": "/out/model",
        },
        "data": {"uri": f"gs://b/{hostile}", "location": hostile, "chosen_region": "x"},
        "data_efficiency": {"applied": [hostile], "before": {}, "after": {}},
        "precision": {"mixed_precision_requested": True, "note": hostile},
    }
    decision = make_decision()
    footprint = compute_footprint(decision, run, pue=1.1)
    evaluation = {
        "metrics": {hostile: 0.5, "accuracy": 0.9},
        "quality_gate": {"metric": hostile, "value": 0.5, "min_quality": 0.1, "passed": True},
    }
    text = render_markdown(footprint, decision, evaluation)
    return text, render_html(footprint, decision, text)


def test_no_raw_markup_reaches_the_markdown_or_the_html():
    for hostile in HOSTILE:
        text, page = _render(hostile)
        for forbidden in ("<script", "<img src=x", "## Forged", "| forged |"):
            assert forbidden not in text, (hostile, forbidden)
            assert forbidden not in page.replace('<img id="', ""), (hostile, forbidden)
        assert "\n## Forged" not in text and "<h2>Forged" not in page
        # No table row gained a cell: each metrics row has exactly three pipes.
        rows = [line for line in text.splitlines() if line.endswith("| 0.5 |")]
        assert rows and all(line.count("|") == 3 for line in rows), rows


def test_escaped_text_reads_back_as_the_original_in_html():
    page = markdown_to_html(f"- name: {md('<b>x</b> | `y`')}")
    assert "&#60;b&#62;x&#60;/b&#62; &#124; &#96;y&#96;" in page
    assert "<b>x</b>" not in page


def test_plain_values_stay_code_spans_and_hostile_ones_lose_them():
    assert md_code("gs://bucket/data.csv") == "`gs://bucket/data.csv`"
    assert "`" not in md_code("a`b")
    assert md("a\nb\rc") == "a b c"
    assert len(md("x" * 5000)) < 400


def test_report_section_count_is_fixed_whatever_the_metric_names():
    text, page = _render("acc\n## Forged section")
    baseline, baseline_page = _render("acc")
    assert len(re.findall(r"^## ", text, re.M)) == len(re.findall(r"^## ", baseline, re.M))
    assert page.count("<h2>") == baseline_page.count("<h2>")
