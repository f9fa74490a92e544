"""Small, real PDF files written byte by byte, for loading and citation tests.

No PDF library writes them, so a test controls exactly what each page says. With
`cff_font`, the font carries an embedded CFF (Type1C) font file: pypdf then logs
"fontTools is required to fully parse the encoding ..." on every page it reads (when
fontTools is not installed, as here), the warning a person saw over the terminal UI.
"""

from __future__ import annotations


def _string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[list[str]], *, cff_font: bool = False) -> bytes:
    """A PDF whose page i shows the lines `pages[i]`, one under the other."""
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(dictionary: str, data: bytes) -> bytes:
        return f"<< {dictionary} /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"

    catalog = add(b"")  # filled in once the page tree's number is known
    font_parts = "/Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding"
    if cff_font:
        font_file = add(stream("/Subtype /Type1C", b"\x01\x00\x04\x01not a real CFF font"))
        descriptor = add(
            (
                "<< /Type /FontDescriptor /FontName /Helvetica /Flags 32 /FontBBox [0 -200 1000 900] "
                f"/ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 /FontFile3 {font_file} 0 R >>"
            ).encode()
        )
        font_parts += f" /FontDescriptor {descriptor} 0 R"
    font = add(f"<< {font_parts} >>".encode())
    page_numbers = []
    tree = len(objects) + 1 + 2 * len(pages)  # the page tree comes after every page
    for lines in pages:
        text = " ".join(f"{_string(line)} Tj T*" for line in lines)
        content = add(stream("", f"BT /F1 11 Tf 14 TL 72 740 Td {text} ET".encode("latin-1")))
        page_numbers.append(
            add(
                (
                    f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content} 0 R >>"
                ).encode()
            )
        )
    kids = " ".join(f"{n} 0 R" for n in page_numbers)
    assert add(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode()) == tree
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {tree} 0 R >>".encode()

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
