"""A corpus an attacker or an unlucky operator would hand Wenda (issue 10), for bench/stress.py.

Every entry is either a document that must be indexed (perhaps with a warning) or one that
must be skipped with a reason; nothing may abort the build, leak a file from outside the
corpus, block on a FIFO or take super-linear time.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path
from zipfile import ZIP_DEFLATED as DEFLATED

from bench.common import REPO

SECRET = "root:x:0:0:机密-不应被索引"  # planted outside the corpus; must never be served
BOMB_BYTES = 1024 * 1024 * 1024  # the docx's XML member inflates to 1 GiB, as in issue 10

# name → what must happen: "indexed" or "skipped"
EXPECTED: dict[str, str] = {
    "link_to_secret.txt": "skipped",
    "link_to_passwd.txt": "skipped",
    "outside_dir": "skipped",
    "loop/up": "skipped",
    "pipe.txt": "skipped",
    "deep.html": "indexed",
    "two_bad_bytes.txt": "indexed",
    "star_a.md": "indexed",
    "heading_spaces.md": "indexed",
    "short_lines.txt": "indexed",
    "%B3%C9%D3%E5-gbk-name.txt": "indexed",
    "bomb.docx": "skipped",
    "binary.txt": "skipped",
    "empty.txt": "skipped",
}


def _bomb(path: Path) -> None:
    """A real .docx whose word/document.xml inflates to BOMB_BYTES (written streamed)."""
    import docx

    template = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("解压炸弹")
    document.save(template)
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", DEFLATED) as zf:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                zf.writestr(item, source.read(item.filename))
        xml = source.read("word/document.xml")
        head, tail = xml.split(b"</w:body>")
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(head)
            block = b"<w:p><w:r><w:t>" + b"a" * (1 << 20) + b"</w:t></w:r></w:p>"
            for _ in range(BOMB_BYTES // len(block)):
                member.write(block)
            member.write(b"</w:body>" + tail)


def build_hostile_corpus(root: Path) -> tuple[Path, Path]:
    """``(corpus_dir, secret_file)``: the seed corpus plus one file per attack."""
    shutil.rmtree(root, ignore_errors=True)
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    for seed in sorted((REPO / "corpus").glob("*.txt")):
        shutil.copy(seed, corpus / seed.name)
    outside = root / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(SECRET + "\n", "utf-8")

    (corpus / "link_to_secret.txt").symlink_to(secret)
    (corpus / "link_to_passwd.txt").symlink_to("/etc/passwd")
    (corpus / "outside_dir").symlink_to(outside, target_is_directory=True)
    (corpus / "loop").mkdir()
    (corpus / "loop" / "up").symlink_to(corpus, target_is_directory=True)
    os.mkfifo(corpus / "pipe.txt")
    deep = "<html><body>" + "<div>" * 3000 + "深层嵌套的网页。" + "</div>" * 3000
    (corpus / "deep.html").write_text(deep + "</body></html>", "utf-8")
    text = ("成渝地区双城经济圈建设稳步推进，两地合作项目不断增加。" * 200).encode("utf-8")
    (corpus / "two_bad_bytes.txt").write_bytes(text[:999] + b"\xff\xfe" + text[1001:])
    (corpus / "star_a.md").write_text("# 星号\n\n" + "*a " * 32_000 + "\n\n正文。\n", "utf-8")
    heading = "# a" + " " * 20_000 + "b\n\n正文。\n"
    (corpus / "heading_spaces.md").write_text(heading, "utf-8")
    (corpus / "short_lines.txt").write_text("\n".join(["短行没有标点"] * 60_000), "utf-8")
    with open(os.fsencode(corpus) + b"/\xb3\xc9\xd3\xe5-gbk-name.txt", "wb") as handle:
        handle.write("文件名是 GBK 编码的文档。".encode())
    _bomb(corpus / "bomb.docx")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (corpus / "empty.txt").write_bytes(b"")
    return corpus, secret
