"""The report's pages: the card's Markdown rendered, the rejects table, the landing text."""

from docutils.core import publish_parts
from PIL import Image

from adain.stages.counts import RunCounts
from adain.stages.report_pages import card_page, grid_data_uri, markdown_html, overview_rst, rejects_page


def test_the_cards_markdown_becomes_html_and_text_stays_text():
    card = "\n".join(
        [
            "# Stylized-ImageNet, preset sin",
            "",
            "> **WARNING: random.** These images were made",
            "> to try the tool.",
            "",
            "| split | images |",
            "|---|---|",
            "| train | 12 |",
            "",
            "* one item that goes on",
            "  on the next line",
            "* `two` <script>",
            "",
            "```python",
            "x = a < b",
            "```",
        ]
    )
    html = markdown_html(card)
    assert "<h1>Stylized-ImageNet, preset sin</h1>" in html
    assert "<blockquote><p><strong>WARNING: random.</strong> These images were made to try the tool.</p>" in html
    assert "<table><tr><th>split</th><th>images</th></tr><tr><td>train</td><td>12</td></tr></table>" in html
    assert "<li>one item that goes on on the next line</li><li><code>two</code> &lt;script&gt;</li>" in html
    assert "<pre><code>x = a &lt; b</code></pre>" in html and "<script>" not in html
    assert card_page(card).startswith(
        "<!DOCTYPE html>"
    ) and "<title>Stylized-ImageNet, preset sin</title>" in card_page(card)


def test_the_rejects_page_lists_every_reject_under_the_runs_counts():
    rejects = [
        ("train", "content", "train/n01/a.JPEG", "undecodable: empty file"),
        ("-", "painting", "p.jpg", "too small"),
    ]
    page = rejects_page(rejects, RunCounts(5, 1, 1), "out/rejects.tsv")
    assert "5 images stylized, 1 content reject, 1 painting reject" in page
    assert "<td>train/n01/a.JPEG</td><td>undecodable: empty file</td>" in page and "<td>p.jpg</td>" in page
    assert "Nothing was rejected" in rejects_page([], RunCounts(5, 0, 0), "out/rejects.tsv")


def test_the_landing_text_says_what_was_built_and_links_the_pages(tmp_path):
    Image.new("RGB", (1344, 480), (200, 30, 30)).save(tmp_path / "grid.png")
    uri = grid_data_uri(tmp_path / "grid.png")
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) < 200_000
    summary = {
        "warning": "random stand-in weights — not a real dataset",
        "preset": "sin",
        "method": "adain",
        "counts": {"images": 18, "content_rejects": 1, "painting_rejects": 1},
        "rejects_by_reason": {"content": {"undecodable": 1}, "painting": {"too small": 1}},
        "splits": {"train": {"packed": 12}, "val": {"packed": 6}},
        "shards": 3,
        "images_per_second": 1.25,
    }
    files = {"sample_grid.png": "the grid", "card.html": "the dataset card", "rejects.html": "every reject"}
    text = overview_rst(summary, "results/demo", uri, files)
    assert max(len(line) for line in text.splitlines()) <= 1_100  # docutils skips longer lines
    # the report appends a link target per result file; rendered as Snakemake renders it
    targets = "\n".join(f".. _{name}: javascript:app.showResultInfo('{name}')" for name in files)
    html = publish_parts(text + "\n\n" + targets, writer="html", settings_overrides={"report_level": 2})["html_body"]
    for said in (
        "Stylized-ImageNet, preset sin",
        "WARNING: random stand-in weights",
        "<strong>18 images stylized, 1 content reject, 1 painting reject</strong>",
        "content rejects: 1 undecodable",
        "painting rejects: 1 too small",
        "1.2 images/s",
        "javascript:app.showResultInfo('card.html')",
        'alt="sample grid: content | painting | stylized"',
    ):
        assert said in html, said
    assert "System Message" not in html and "data:image/jpeg;base64," in html
