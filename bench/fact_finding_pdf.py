"""How long the fact-finding PDF (cases/pdf.py) takes to render: a fully filled form, every text
far longer than its box, rendered N times in one process (as the server does after its first
request). Prints CPU and wall time per render (first, p50, p95, max) and the page count.

    .venv/bin/python bench/fact_finding_pdf.py [--runs 30]

The route serves the PDF itself while a render stays well under a second; past that it belongs
on the job queue (ARCHITECTURE.md: slow work goes on jobs/)."""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def filled_case():
    """A case as the PDF reads it, every field at its longest."""
    from cases.enums import CaseStatus, Domain, PersonRole, RiskLevel

    long = ("ครอบครัวมีรายได้ไม่แน่นอน ผู้สูงอายุป่วยติดเตียง ต้องการผ้าอ้อมผู้ใหญ่และนมผง "
            "น้ำท่วมบ้านเสียหาย ") * 45
    client = SimpleNamespace(role=PersonRole.CLIENT, full_name="นางบัวผัน ศรีสุข",
                             national_id="3100500123451", no_id_reason=None, age_years=67,
                             birth_date=date(1959, 5, 2), phone="0812345678",
                             target_groups=["elderly", "poor_household"],
                             address_text="12 หมู่ 3 ต.ในเมือง", relationship_to_client="")
    household = [SimpleNamespace(role=PersonRole.HOUSEHOLD, full_name=f"สมาชิกคนที่ {i}",
                                 relationship_to_client="หลาน") for i in range(6)]
    assessment = SimpleNamespace(
        visited_at=date(2026, 11, 30), problem=long[:4000], living_conditions=long[:4000],
        income_debts=long[:4000], health=long[:4000], education=long[:4000],
        safety_risks=long[:4000], needs=long[:4000],
        scores={d.value: {"score": 2, "reason": long[:1000]} for d in Domain},
        risk_level=RiskLevel.URGENT, completed_at=datetime(2026, 11, 30, 3, tzinfo=UTC))
    return SimpleNamespace(id=1, ref="C65-2569-000001", assessment=assessment,
                           people=[client, *household], assigned_to_id=None,
                           status=CaseStatus.PLANNING, address_text="", province_code="65",
                           district_code="6501", subdistrict_code=None, summary=long[:4000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from flask import Flask
    from flask_babel import Babel
    from pypdf import PdfReader

    from cases import pdf

    app = Flask("bench")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(
        Path(__file__).resolve().parent.parent / "console" / "translations")
    Babel(app)
    case = filled_case()
    cpu, wall = [], []
    with app.app_context():
        for _ in range(args.runs):
            c0, w0 = time.process_time(), time.perf_counter()
            data = pdf.fact_finding_pdf(case)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
    pages = len(PdfReader(io.BytesIO(data)).pages)

    def line(name: str, xs: list[float]) -> str:
        rest = sorted(xs[1:]) or xs
        p95 = rest[min(len(rest) - 1, int(len(rest) * 0.95))]
        return (f"{name}: first {xs[0] * 1000:.0f} ms, then p50 "
                f"{statistics.median(rest) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                f"max {max(rest) * 1000:.0f} ms")

    print(f"{args.runs} renders, {len(data):,} bytes, {pages} pages")
    print(line("cpu ", cpu))
    print(line("wall", wall))


if __name__ == "__main__":
    main()
