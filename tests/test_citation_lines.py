"""`file:line` means the same everywhere: for HTML the raw page's line where the quote
stands, for a PDF the line of its extracted text (what ctrl+o opens, named as such)."""

from __future__ import annotations

from pathlib import Path

from qa.answer.citation import make_citation
from qa.index.indexing import build_index, load_index
from tests.fakes import FakeEmbedder
from tests.pdfs import make_pdf
from tui.opening import open_target

STYLE = "".join(f"  .rule-{n} {{ margin: {n}px; }}\n" for n in range(24))
PAGE = (
    "<!doctype html>\n<html>\n<head>\n<meta charset='utf-8'>\n<title>Harbour news</title>\n"
    f"<style>\n{STYLE}</style>\n</head>\n<body>\n"
    "<nav><a href='/'>Home</a> | <a href='/about'>About</a></nav>\n"
    "<article>\n<h1>The new lighthouse</h1>\n"
    "<p>The council met on Tuesday to discuss the new lighthouse\nand what it would cost the town.</p>\n"
    "<p>The lighthouse will be built by <b>Marta Quint</b>, a local engineer,\n"
    "and should open in 2027 if the budget is approved.</p>\n"
    "<ul><li>Parking: no decision was taken.</li><li>The pier is repaired &amp; open.</li></ul>\n"
    "</article>\n</body>\n</html>\n"
)
PAGES = [
    ["Annual report of the Harrow Point Lighthouse.", "Prepared by the keepers."],
    ["The lamp was converted to electricity in 1931.", "Visitors came from the mainland."],
    ["The tower is 41 metres tall.", "Its first keeper was Marta Lindqvist.", "She kept the lamp for 32 years."],
]


def raw_line(raw: str, phrase: str) -> int:
    return raw.count("\n", 0, raw.index(phrase)) + 1


def index_of(tmp_path: Path, name: str, data: bytes):
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / name).write_bytes(data)
    embedder = FakeEmbedder()
    build_index(sources, tmp_path / "idx", embedder=embedder)
    return sources, load_index(tmp_path / "idx", embedder=embedder)


def test_an_html_citation_names_the_raw_line_of_the_quote(tmp_path):
    assert raw_line(PAGE, "<body>") > 20  # the body starts well below the top
    _, index = index_of(tmp_path, "page.html", PAGE.encode())
    text = index.document("page.html").text
    for phrase in ("Marta Quint", "2027", "council met", "what it would cost", "repaired", "no decision"):
        start = text.index(phrase)
        citation = make_citation(index, "page.html", start, start + len(phrase))
        assert citation.line_start == citation.line_end == raw_line(PAGE, phrase), phrase
    whole = make_citation(index, "page.html", text.index("The council"), text.index("the town.") + 9)
    assert (whole.line_start, whole.line_end) == (raw_line(PAGE, "The council"), raw_line(PAGE, "the town."))


def test_ctrl_o_on_an_html_citation_opens_the_raw_page_at_the_quote(tmp_path):
    sources, index = index_of(tmp_path, "page.html", PAGE.encode())
    text = index.document("page.html").text
    start = text.index("Marta Quint")
    citation = make_citation(index, "page.html", start, start + len("Marta Quint"))
    target = open_target(citation, sources / "page.html", text, tmp_path / "scratch")
    assert target.path == sources / "page.html" and target.note is None
    assert "Marta Quint" in target.path.read_text().splitlines()[target.line - 1]


def test_an_index_from_before_line_maps_gets_them_without_re_embedding(tmp_path):
    import json

    from qa.index import generations

    sources, _ = index_of(tmp_path, "page.html", PAGE.encode())
    documents = generations.current_generation(tmp_path / "idx") / "documents.jsonl"
    rows = [json.loads(line) for line in documents.read_text().splitlines()]
    assert all(row.pop("line_map") for row in rows)  # as an older qa wrote it
    documents.write_text("".join(json.dumps(row) + "\n" for row in rows))
    from qa.index.manifest import MANIFEST, artifact_entries, read_manifest, sha256_file, write_manifest

    generation = documents.parent
    manifest = read_manifest(generation, generations.read_current(tmp_path / "idx").manifest_sha256)
    manifest["artifacts"].update(artifact_entries(generation, ["documents.jsonl"]))
    write_manifest(generation, manifest)
    # CURRENT pins the manifest's hash: an older qa's index is consistent, just older.
    (tmp_path / "idx" / "CURRENT").write_text(f"{generation.name} {sha256_file(generation / MANIFEST)}\n")
    embedder = FakeEmbedder()
    report = build_index(sources, tmp_path / "idx", embedder=embedder)
    assert report.embedded_chunks == 0
    assert load_index(tmp_path / "idx", embedder=embedder).document("page.html").line_map


def test_a_pdf_citation_names_its_page_and_opens_the_extracted_text_at_the_quote(tmp_path):
    sources, index = index_of(tmp_path, "report.pdf", make_pdf(PAGES))
    text = index.document("report.pdf").text
    start = text.index("Marta Lindqvist")
    citation = make_citation(index, "report.pdf", start, start + len("Marta Lindqvist"))
    assert citation.page == 3
    assert citation.location() == f"report.pdf:{citation.line_start} (p. 3)"
    target = open_target(citation, sources / "report.pdf", text, tmp_path / "scratch")
    assert target.path.parent == tmp_path / "scratch" and "extracted" in target.path.name
    assert target.path.name.startswith("report.pdf")
    lines = target.path.read_text(encoding="utf-8").split("\n")
    assert "Marta Lindqvist" in lines[target.line - 1]  # the editor's line is the quote's
    assert "PDF" in target.note and "page 3" in target.note
