"""A self-contained HTML report of an evaluation, for people who were not at the terminal.

One file, no scripts, no external assets: charts are inline SVG. Every number comes from
the `Evaluation` that also gives the JSON (`Evaluation.to_json`), and metric values are
printed at the same rounding, so the report and `qa eval --json` always agree. Each metric
cell carries `data-metric="<name>"` so tests (and scripts) can read it back.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from qa.evaluation.calibration import CurvePoint, evaluate_threshold
from qa.evaluation.metrics import METRICS, Metrics
from qa.evaluation.runner import Evaluation
from qa.evaluation.svg import Series, histogram, line_chart
from qa.evaluation.triage import STAGES, stage_counts, triage

MEANINGS = {
    "em": "exact match with the best gold text (normalised)",
    "f1": "token F1 against the best gold text",
    "contains": "the answer contains a gold text",
    "citation_hit": "the answer's citation overlaps a gold answer",
    "evidence_hit": "the supporting sentence overlaps a gold answer",
    "hit@1": "the first passage holds a gold answer",
    "hit@5": "one of the first 5 passages holds a gold answer",
    "hit@10": "one of the first 10 passages holds a gold answer",
    "mrr@10": "mean reciprocal rank of the first passage holding a gold answer",
    "read_hit": "a passage the answerer read holds a gold answer",
    "abstain_unanswerable": "share of unanswerable questions abstained on (higher is better)",
    "abstain_answerable": "share of answerable questions abstained on (lower is better)",
    "squad2_f1": "SQuAD 2.0 F1: token F1 on answerable, 1 for abstaining on unanswerable",
    "abstain_auroc": "how well confidence separates answerable from unanswerable (0.5: chance)",
    "verbatim": "answers equal to the cited text exactly (must be 1)",
    "latency_p50_ms": "median time per question, ms",
    "latency_p95_ms": "95th percentile time per question, ms",
}

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1180px;color:#0f172a;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
.sub{color:#475569;margin-top:0}.banner{background:#fef3c7;border:1px solid #f59e0b;padding:.6rem 1rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border-bottom:1px solid #e2e8f0;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f1f5f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.triage td{max-width:22rem;overflow-wrap:anywhere}.stage-retrieval{color:#b91c1c}
.stage-extraction{color:#c2410c}.stage-abstention{color:#7c3aed}.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
figure{margin:0}figcaption{color:#475569;font-size:.9rem;max-width:640px}
"""


def format_value(name: str, value: float | None) -> str:
    """A metric as the report and the terminal table print it: the JSON value, fixed width."""
    if value is None:
        return "n/a"
    return f"{value:.1f}" if name.endswith("_ms") else f"{value:.4f}"


def render_report(ev: Evaluation, *, calibrated: float | None = None) -> str:
    title = f"qa evaluation: {Path(ev.questions.path).name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{ev.done} of {len(ev.questions.questions)} questions · format '
        f"{escape(ev.questions.format)} · sources {escape(ev.sources)} · index {escape(ev.index)} "
        f"· abstention threshold {ev.threshold:g}</p>",
    ]
    if ev.partial:
        parts.append(
            f'<p class="banner" id="partial">Partial run: interrupted after {ev.done} of '
            f"{len(ev.questions.questions)} questions. The figures cover those only.</p>"
        )
    for note in ev.questions.notes:
        parts.append(f'<p class="banner">{escape(note)}</p>')
    parts.append("<h2>Headline metrics</h2>")
    parts.append(_metrics_table(ev.metrics))
    parts.append('<h2>Charts</h2><div class="charts">')
    parts.append(_latency_figure(ev))
    parts.extend(_curve_figures(ev, calibrated))
    parts.append("</div>")
    parts.append(_triage_section(ev))
    if ev.questions.warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in ev.questions.warnings)
        parts.append(
            f"<h2>Input warnings</h2><details><summary>{len(ev.questions.warnings)} "
            f"warning(s)</summary><ul>{items}</ul></details>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(path: Path, ev: Evaluation, *, calibrated: float | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_report(ev, calibrated=calibrated), encoding="utf-8")
    tmp.replace(path)


def _metrics_table(m: Metrics) -> str:
    rows = []
    for name, _ in METRICS:
        rows.append(
            f"<tr><th>{escape(name)}</th>"
            f'<td class="num" data-metric="{escape(name)}">{format_value(name, m[name])}</td>'
            f'<td class="num">{m.over(name)}</td><td>{escape(MEANINGS[name])}</td></tr>'
        )
    return (
        '<table class="metrics"><tr><th>metric</th><th>value</th><th>questions</th>'
        "<th>meaning</th></tr>" + "".join(rows) + "</table>"
    )


def _latency_figure(ev: Evaluation) -> str:
    m = ev.metrics
    markers = [
        (f"{name.split('_')[1]} {m[name]:.1f} ms", m[name])
        for name in ("latency_p50_ms", "latency_p95_ms")
        if m[name] is not None
    ]
    svg = histogram(
        [r.latency_ms for r in ev.results],
        x_label="milliseconds per question (index loaded)",
        title="latency histogram",
        markers=markers,
    )
    return (
        f'<figure id="latency">{svg}<figcaption>Latency per question, from question in to '
        "answer out.</figcaption></figure>"
    )


def _curve_figures(ev: Evaluation, calibrated: float | None) -> list[str]:
    if not ev.curve:
        return [
            "<p>No abstention curve: it needs a second pass with the threshold off "
            "(skipped because the run was interrupted).</p>"
        ]
    curve = ev.curve
    lo, hi = curve[0].threshold, curve[-1].threshold
    # Start a little left of the lowest confidence, where the first point's outcome holds.
    start = lo - 0.04 * (hi - lo) if hi > lo else lo - 0.05
    series = [
        Series("accuracy of answered answerable questions",
               _points(curve, "answered_accuracy", start)),
        Series("share of answerable questions answered", _points(curve, "answerable_answered", start)),
    ]
    has_unanswerable = curve[0].unanswerable_abstained is not None
    if has_unanswerable:
        series.append(
            Series("share of unanswerable questions abstained",
                   _points(curve, "unanswerable_abstained", start))
        )
    markers = [(f"current {ev.threshold:g}", ev.threshold)]
    if calibrated is not None:
        markers.append((f"calibrated {calibrated:g}", calibrated))
    figures = [
        '<figure id="tradeoff">'
        + line_chart(
            series,
            x_label="abstention threshold (answer when confidence ≥ threshold)",
            y_label="share",
            title="abstention trade-off",
            x_range=(start, hi),
            markers=markers,
            steps=True,
        )
        + "<figcaption>As the threshold rises, more questions are abstained on: accuracy on "
        "the answered ones should rise while fewer answerable questions get an answer."
        + ("" if has_unanswerable else " The file has no unanswerable questions.")
        + f" At the current threshold: {_describe(evaluate_threshold(ev.unthresholded, ev.threshold))}"
        + "</figcaption></figure>"
    ]
    if has_unanswerable:
        pairs = tuple(
            (p.unanswerable_abstained, p.answered_accuracy)
            for p in curve
            if p.answered_accuracy is not None
        )
        figures.append(
            '<figure id="tradeoff-pairs">'
            + line_chart(
                [Series("each point is one threshold", pairs)],
                x_label="share of unanswerable questions abstained",
                y_label="accuracy of answered answerable",
                title="accuracy vs abstention",
                x_range=(0.0, 1.0),
            )
            + "<figcaption>The same curve without the threshold: how much answered accuracy "
            "each level of abstention on unanswerable questions buys.</figcaption></figure>"
        )
    return figures


def _points(
    curve: tuple[CurvePoint, ...], attr: str, start: float
) -> tuple[tuple[float, float], ...]:
    points = [(p.threshold, getattr(p, attr)) for p in curve if getattr(p, attr) is not None]
    if points and points[0][0] == curve[0].threshold:
        points.insert(0, (start, points[0][1]))
    return tuple(points)


def _describe(p: CurvePoint) -> str:
    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1%}"

    return (
        f"{pct(p.answered_accuracy)} of answered answerable questions correct, "
        f"{pct(p.answerable_answered)} of answerable questions answered, "
        f"{pct(p.unanswerable_abstained)} of unanswerable questions abstained."
    )


def _triage_section(ev: Evaluation) -> str:
    misses = triage(ev.results)
    counts = stage_counts(misses)
    summary = ", ".join(f"{stage} {counts[stage]}" for stage in STAGES)
    head = (
        f"<h2>Failure triage</h2><p id=\"triage-summary\">{len(misses)} miss(es) of "
        f"{ev.done}: {summary}. A miss is an answerable question whose answer does not "
        "contain a gold text, or a wrong abstention. Retrieval: no returned passage holds "
        "the gold; extraction: one does, but the answer missed it; abstention: abstained on "
        "an answerable question or answered an unanswerable one.</p>"
    )
    if not misses:
        return head
    rows = []
    for miss in misses:
        r = miss.result
        # SQuAD lists one answer per annotator: show each distinct text once.
        gold = " | ".join(dict.fromkeys(r.gold)) if r.gold else "(unanswerable)"
        predicted = r.predicted if r.predicted is not None else f"(abstained: {r.reason or ''})"
        rows.append(
            f"<tr><td>{escape(r.id)}<br><small>line {r.line}</small></td>"
            f'<td class="stage-{miss.stage}">{miss.stage}<br><small>{escape(miss.detail)}'
            f"</small></td><td>{escape(r.question)}</td><td>{escape(gold)}</td>"
            f'<td>{escape(predicted)}</td><td class="num">{r.confidence:.3f}</td>'
            f'<td class="num">{r.rank or "-"}</td></tr>'
        )
    return (
        head
        + '<table class="triage"><tr><th>id</th><th>stage</th><th>question</th><th>gold</th>'
        "<th>predicted</th><th>confidence</th><th>gold rank</th></tr>"
        + "".join(rows)
        + "</table>"
    )
