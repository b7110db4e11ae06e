"""The pages of a run's report (``snakemake --report report.html``), written by ``summarize``:

* ``report/overview.rst``: what the run built, for the report's landing page (the workflow
  description, ``workflow/report/workflow.rst``, includes it): preset, method, the run's counts
  (:class:`adain.stages.counts.RunCounts`), rejects by reason, speed, the stand-in warning, links
  to the other results and the sample grid itself;
* ``report/card.html``: the dataset card (``README.md``) rendered, so the report shows it in the
  page (Snakemake shows HTML results, and only offers other files for download);
* ``report/rejects.html``: every reject and its reason as a table.

Self-contained: no script, no outside link; images are inlined as data URIs.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Sequence
from pathlib import Path

from .counts import RANDOM_STANDIN_WARNING, STANDIN_HINT, RunCounts

__all__ = ["markdown_html", "card_page", "rejects_page", "overview_rst", "grid_data_uri"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:1.5rem auto;padding:0 1rem;line-height:1.45}"
    "table{border-collapse:collapse;margin:.6rem 0}th,td{border:1px solid #bbb;padding:.25rem .55rem;"
    "text-align:left;vertical-align:top}th{background:#eee}code,pre{background:#f4f4f4}pre{padding:.6rem;"
    "overflow-x:auto}blockquote{border-left:4px solid #c00;margin:.6rem 0;padding:.2rem .8rem;background:#fff4f4}"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _inline(text: str) -> str:
    """Escaped text with Markdown's ``code`` and **bold**."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(part)))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_html(text: str) -> str:
    """The Markdown of a dataset card (:func:`adain.stages.dataset_card.dataset_card`) as HTML:
    headings, paragraphs, ``>`` quotes, ``|`` tables, ``*`` lists, fenced code, inline code and
    bold. Everything else is text, escaped."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1 : end])) + "</code></pre>")
            i = end + 1
        elif match := re.match(r"(#{1,6}) (.*)", line):
            level = len(match[1])
            out.append(f"<h{level}>{_inline(match[2])}</h{level}>")
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not re.fullmatch(r"\|[\s|:-]+\|?", lines[i].strip()):  # not the |---| line
                    rows.append(_cells(lines[i]))
                i += 1
            head, *body = rows
            out.append(
                "<table><tr>"
                + "".join(f"<th>{_inline(c)}</th>" for c in head)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body)
                + "</table>"
            )
        else:
            kind = "quote" if line.startswith(">") else "list" if line.startswith("* ") else "text"
            block = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("```", "|", "#")):
                here = "quote" if lines[i].startswith(">") else "list" if lines[i].startswith("* ") else "text"
                if here != kind and not (kind == "list" and lines[i].startswith("  ")):
                    break
                block.append(lines[i])
                i += 1
            if kind == "quote":
                out.append("<blockquote><p>" + _inline(" ".join(b.lstrip("> ") for b in block)) + "</p></blockquote>")
            elif kind == "list":
                items, current = [], []
                for b in block:
                    if b.startswith("* ") and current:
                        items.append(" ".join(current))
                        current = []
                    current.append(b[2:] if b.startswith("* ") else b.strip())
                items.append(" ".join(current))
                out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
            else:
                out.append("<p>" + _inline(" ".join(block)) + "</p>")
    return "\n".join(out)


def card_page(card_md: str) -> str:
    """The dataset card as one HTML page."""
    title = card_md.splitlines()[0].lstrip("# ") if card_md.strip() else "dataset card"
    return _page(title, markdown_html(card_md))


def rejects_page(rejects: Sequence[tuple], counts: RunCounts, rejects_tsv: str) -> str:
    """Every reject, ``(split, kind, file, reason)``, as a table under the run's counts."""
    body = [f"<h1>Rejects</h1><p><strong>{html.escape(counts.phrase())}</strong>. Also in <code>"]
    body[0] += f"{html.escape(rejects_tsv)}</code> (tab-separated). A rejected painting rejects no image: the "
    body[0] += "draws use the usable paintings.</p>"
    if not rejects:
        body.append("<p>Nothing was rejected.</p>")
    else:
        body.append("<table><tr><th>split</th><th>kind</th><th>file</th><th>reason</th></tr>")
        body += [
            "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row) + "</tr>"
            for row in sorted(rejects)
        ]
        body.append("</table>")
    return _page("Rejects", "\n".join(body))


def grid_data_uri(grid_png: str | Path, width: int = 960) -> str:
    """The sample grid, scaled to ``width`` pixels and JPEG-encoded, as a ``data:`` URI (~100 kB)."""
    from PIL import Image

    with Image.open(grid_png) as grid:
        image = grid.convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _rst_text(text: str) -> str:
    """Text safe inside reStructuredText prose (its markup characters escaped)."""
    return re.sub(r"([\\`*_|<>\[\]])", r"\\\1", text)


def overview_rst(summary: dict, output_dir: str, grid_uri: str, files: dict[str, str]) -> str:
    """The report's landing text (reStructuredText) for ``summary`` (``summary.json``): what was
    built and where to look. ``files``: result name -> the file it stands for, each linked as
    ``name_`` (the report defines a link target per result file name)."""
    counts = RunCounts.from_summary(summary)
    preset, method = summary.get("preset", "?"), summary.get("method", counts.method)
    title = ("Stylized-ImageNet" if method == "adain" else f"ImageNet ({method})") + f", preset {preset}"
    lines = [title, "=" * len(title), ""]
    if summary.get("warning"):
        lines += [
            ".. raw:: html",
            "",
            '   <p style="background:#c00;color:#fff;padding:.4rem .7rem;font-weight:bold">WARNING: '
            f"{html.escape(RANDOM_STANDIN_WARNING)}. {html.escape(STANDIN_HINT[0].upper() + STANDIN_HINT[1:])}.</p>",
            "",
        ]
    splits = ", ".join(f"{split} {c['packed']}" for split, c in summary.get("splits", {}).items())
    lines += [
        f"Built in ``{_rst_text(output_dir)}`` with method ``{method}`` and preset ``{preset}``:",
        "",
        f"* **{counts.phrase()}** (images per split: {splits}; {summary.get('shards', 0)} shards)",
    ]
    for kind, reasons in (summary.get("rejects_by_reason") or {}).items():
        if reasons:
            found = ", ".join(f"{n} {_rst_text(reason)}" for reason, n in reasons.items())
            lines.append(f"* {kind} rejects: {found} (every one with its reason: `rejects.html`_)")
    lines.append(f"* speed: {summary.get('images_per_second', 0.0):.1f} images/s (stylizing, all jobs together)")
    if method == "adain":
        lines.append(
            f"* paintings drawn from: {summary.get('paintings', '?')}; styles per image: "
            f"{summary.get('styles_per_image', 1)}"
        )
    lines += [f"* note: {_rst_text(w)}" for w in summary.get("painting_warnings", [])]
    lines += ["", "Look at:", ""]
    lines += [f"* `{name}`_: {_rst_text(what)}" for name, what in files.items()]
    lines += [
        "",
        "The sample grid (each sample as content | painting | stylized):",
        "",
        ".. raw:: html",
        "",
        '   <img alt="sample grid: content | painting | stylized" style="max-width:100%" src="',
        # lines of 1,000: docutils skips longer ones; a data URI's line breaks are dropped by browsers
        *(f"   {grid_uri[i : i + 1000]}" for i in range(0, len(grid_uri), 1000)),
        '   ">',
        "",
    ]
    return "\n".join(lines)
