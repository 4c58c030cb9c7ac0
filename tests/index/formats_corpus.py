"""A corpus with one document of every supported kind, and questions whose answers need
each format's handling (page, title, OCR, rows, slides, look-alikes, traditional script)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.index.ingest.docmaker import png_bytes, pptx_bytes, scanned_pdf, text_pdf, xlsx_bytes


@dataclass(frozen=True)
class FormatCase:
    question: str
    doc_id: str
    title: str
    expect: str  # must appear (spaces removed) in the cited passage text
    page: int | None = None
    section: str | None = None


def write_format_corpus(corpus: Path) -> list[FormatCase]:
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "年度报告.pdf").write_bytes(
        text_pdf(
            [
                [
                    "海棠湖年度报告",
                    "海棠湖位于德阳市旌阳区，水面面积约一百二十公顷，是市民休闲的去处。",
                ],
                ["景区自二〇二五年起实行预约入园，每日接待上限为八千人次，节假日另行公告。"],
                ["湖区周边共有停车位一千二百个，其中新能源充电车位三百个，按小时收费。"],
            ],
            title="untitled",
        )
    )
    (corpus / "公告.pdf").write_bytes(
        scanned_pdf(
            [["游船公告", "游船每人每次收费三十元。"], ["夜间安排", "夜间灯光秀于每周六晚上举行。"]]
        )
    )
    (corpus / "通知.png").write_bytes(png_bytes(["图书馆通知", "图书馆每周一闭馆维护。"]))
    (corpus / "城市.xlsx").write_bytes(
        xlsx_bytes(
            {
                "四川": [
                    ["城市", "面积（平方公里）", "常住人口（万人）"],
                    ["成都", 14335, 2140],
                    ["德阳", 5911, 345],
                    ["绵阳", 20248, 486],
                ]
            }
        )
    )
    (corpus / "汇报.pptx").write_bytes(
        pptx_bytes(
            [
                ("项目概况", ["湿地公园项目总投资十二亿元。"], "资金来源为地方专项债券。"),
                ("建设进度", ["一期工程预计二〇二七年完工。"], ""),
            ]
        )
    )
    (corpus / "票价.txt").write_text(
        "景区⻔票\n\n海棠湖景区⻔票价格为每⼈⼋⼗元，⾯向全体游客。\n", "utf-8"
    )
    (corpus / "臺大.txt").write_text(
        "臺大圖書館\n\n國立臺灣大學總圖書館的開放時間為每日上午八點至晚上十點，寒暑假另訂。\n",
        "utf-8",
    )
    return [
        FormatCase(
            "海棠湖景区每日接待上限是多少人次？", "年度报告.pdf", "海棠湖年度报告", "八千人次", 2
        ),
        FormatCase(
            "湖区周边的新能源充电车位有多少个？", "年度报告.pdf", "海棠湖年度报告", "三百个", 3
        ),
        FormatCase("夜间灯光秀在什么时候举行？", "公告.pdf", "游船公告", "每周六晚上", 2),
        FormatCase("图书馆哪天闭馆维护？", "通知.png", "通知", "每周一闭馆"),
        FormatCase(
            "德阳的面积是多少平方公里？",
            "城市.xlsx",
            "城市",
            "城市：德阳；面积（平方公里）：5911",
            None,
            "四川",
        ),
        FormatCase(
            "湿地公园项目的资金来源是什么？", "汇报.pptx", "汇报", "地方专项债券", None, "项目概况"
        ),
        FormatCase("海棠湖景区门票价格是多少？", "票价.txt", "票价", "门票价格为每人八十元"),
        FormatCase("台湾大学总图书馆的开放时间是什么？", "臺大.txt", "臺大", "圖書館的開放時間"),
    ]
