"""The fact-finding form (สอบข้อเท็จจริง) as the 2-page Thai A4 PDF the worker prints for the
file: fpdf2 with HarfBuzz text shaping (Thai vowels and tone marks stacked right) and the
bundled Sarabun font (static/fonts, SIL OFL). Every text has a box of fixed size: a text longer
than its box is cut at a whole line and says so, so the form is always exactly two pages.

The form is the ministry's own, so its headings are Thai whatever the screen's language;
enum values go through console/labels.py in Thai."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from cases.enums import Domain
from cases.schemas import mask_thai_id

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
CUT_NOTE = " … (ข้อความยาวเกินพื้นที่ ดูฉบับเต็มในระบบ)"
LINE = 5.2  # mm per line of 11 pt text
MARGIN = 14.0


class _Form(FPDF):
    def __init__(self, ref: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.ref = ref
        self.widths: dict[tuple, dict[str, float]] = {}
        self.set_margins(MARGIN, 12, MARGIN)
        self.set_auto_page_break(False)
        self.add_font("Sarabun", "", str(FONT_DIR / "Sarabun-Regular.ttf"))
        self.add_font("Sarabun", "B", str(FONT_DIR / "Sarabun-Bold.ttf"))
        self.set_text_shaping(True)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Sarabun", "", 8)
        self.cell(0, 4, f"เคส {self.ref}  ·  หน้า {self.page_no()}/2  ·  ข้อมูลส่วนบุคคล "
                        "ใช้เพื่อการดูแลช่วยเหลือรายกรณีเท่านั้น", align="C")

    @property
    def width(self) -> float:
        return self.w - 2 * MARGIN

    def heading(self, text: str) -> None:
        self.set_font("Sarabun", "B", 11.5)
        self.set_fill_color(228, 234, 242)
        self.cell(self.width, 6.2, " " + text, fill=True, new_x="LMARGIN", new_y="NEXT")
        self.ln(0.8)

    def field(self, label: str, value: str, width: float, *, last: bool = False) -> None:
        self.set_font("Sarabun", "B", 10)
        label_w = self.get_string_width(label) + 2
        self.cell(label_w, LINE, label)
        self.set_font("Sarabun", "", 10)
        room = max(width - label_w, 10)
        text = fit_line(self, value or "-", room)
        if last:
            self.cell(room, LINE, text, new_x="LMARGIN", new_y="NEXT")
        else:
            self.cell(room, LINE, text)

    def box(self, title: str, text: str, lines: int) -> None:
        """A titled text area of `lines` lines: wrapped, and cut with a note when longer."""
        self.set_font("Sarabun", "B", 10)
        self.cell(self.width, LINE, title, new_x="LMARGIN", new_y="NEXT")
        self.set_font("Sarabun", "", 10.5)
        top = self.get_y()
        shown = fit_lines(self, text.strip() or "-", self.width - 2, lines)
        for line in shown:
            self.set_x(MARGIN + 1)
            self.cell(self.width - 2, LINE, line, new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(190, 190, 190)
        self.rect(MARGIN, top - 0.4, self.width, lines * LINE + 0.8)
        self.set_y(top + lines * LINE + 1.6)


def _width(pdf: FPDF, text: str) -> float:
    """The printed width of a text: the sum of its characters' advances in the current font,
    each measured once (without shaping: Thai marks have no advance in Sarabun, so the sum
    agrees with the shaped line; shaping while measuring costs seconds per page)."""
    key = (pdf.font_family, pdf.font_style, pdf.font_size_pt)
    cache = pdf.widths.setdefault(key, {})
    total = 0.0
    for char in text:
        width = cache.get(char)
        if width is None:
            pdf.set_text_shaping(False)
            width = cache[char] = pdf.get_string_width(char)
            pdf.set_text_shaping(True)
        total += width
    return total * 1.01  # NOTE: a little room for kerning the sum does not see


def _cut(text: str, at: int) -> int:
    """A cut position at or before `at` that does not split a Thai vowel or tone mark from
    its letter."""
    import unicodedata

    while at > 1 and unicodedata.category(text[at]) in ("Mn", "Mc") if at < len(text) else False:
        at -= 1
    return at


def _fit(pdf: FPDF, text: str, width: float) -> int:
    """How many characters of `text` fit in `width` (binary search, whole clusters)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(pdf, text[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    return _cut(text, lo) if lo < len(text) else lo


def wrap(pdf: FPDF, text: str, width: float, limit: int) -> list[str]:
    """The text in lines no wider than `width` (at most limit + 1 lines: enough to know it was
    cut): at a space when there is one, else between letters (Thai runs have no spaces)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        rest = " ".join(paragraph.split())
        while True:
            if len(lines) > limit:
                return lines
            if _width(pdf, rest) <= width:
                lines.append(rest)
                break
            at = max(_fit(pdf, rest, width), 1)
            space = rest.rfind(" ", 0, at + 1)
            if space > at // 2:
                at = space
            lines.append(rest[:at].rstrip())
            rest = rest[at:].lstrip()
    return lines


def fit_line(pdf: FPDF, text: str, width: float) -> str:
    """One line of text, cut with … when wider than `width`."""
    text = " ".join(text.split())
    if _width(pdf, text) <= width:
        return text
    return text[:_fit(pdf, text, width - _width(pdf, "…"))] + "…"


def fit_lines(pdf: FPDF, text: str, width: float, lines: int) -> list[str]:
    """The text wrapped to `width`, at most `lines` lines; when cut, the last line ends with
    the note that the full text is in the system."""
    wrapped = wrap(pdf, text, width, lines)
    if len(wrapped) <= lines:
        return wrapped
    shown = wrapped[:lines]
    last = shown[-1]
    shown[-1] = last[:_fit(pdf, last, width - _width(pdf, CUT_NOTE))].rstrip() + CUT_NOTE
    return shown


def _client(case):
    return next((p for p in case.people if p.role and p.role.value == "client"), None)


def fact_finding_pdf(case, *, workers=()) -> bytes:
    """The case's fact-finding form as PDF bytes: always 2 A4 pages."""
    from flask_babel import force_locale

    from console.labels import format_be_date, label, place_names

    with force_locale("th"):
        return _render(case, workers, label, format_be_date, place_names)


def _render(case, workers, label, format_be_date, place_names) -> bytes:
    row = case.assessment
    client = _client(case)
    worker = next((w for w in workers if w.id == case.assigned_to_id), None)
    pdf = _Form(case.ref or str(case.id))

    # ---- page 1: who, where, the problem and the household's conditions ----------------------
    pdf.add_page()
    pdf.set_font("Sarabun", "B", 15)
    pdf.cell(pdf.width, 8, "แบบสอบข้อเท็จจริง (การดูแลช่วยเหลือรายกรณี)", align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Sarabun", "", 10)
    pdf.cell(pdf.width, 5, "ศูนย์ช่วยเหลือสังคม สายด่วน 1300  ·  กระทรวงการพัฒนาสังคมและ"
                           "ความมั่นคงของมนุษย์", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    half = pdf.width / 2
    pdf.field("เลขที่เคส:", case.ref or "", half)
    pdf.field("วันที่เยี่ยมบ้าน:", format_be_date(row.visited_at) if row and row.visited_at
              else "", half, last=True)
    pdf.field("ผู้สอบข้อเท็จจริง:", worker.display_name if worker else "", half)
    pdf.field("สถานะเคส:", label("case_status", case.status), half, last=True)
    pdf.ln(1.5)
    pdf.heading("1. ผู้ประสบปัญหา")
    pdf.field("ชื่อ-สกุล:", client.full_name if client else "", half)
    pdf.field("เลขประจำตัวประชาชน:", (mask_thai_id(client.national_id) or
              (label("no_id_reason", client.no_id_reason) if client.no_id_reason else ""))
              if client else "", half, last=True)
    age = ""
    if client and client.age_years is not None:
        age = f"{client.age_years} ปี"
    if client and client.birth_date:
        age = f"เกิด {format_be_date(client.birth_date)}" + (f" ({age})" if age else "")
    pdf.field("อายุ:", age, half)
    pdf.field("โทรศัพท์:", (client.phone or "") if client else "", half, last=True)
    groups = ", ".join(label("target_group", g) for g in (client.target_groups or [])) \
        if client else ""
    pdf.field("กลุ่มเป้าหมาย:", groups, pdf.width, last=True)
    address = (client.address_text if client and client.address_text else case.address_text)
    place = place_names(case.province_code, case.district_code, case.subdistrict_code)
    pdf.field("ที่อยู่:", ", ".join(p for p in (address, place) if p), pdf.width, last=True)
    household = [p for p in case.people if p is not client and p.full_name]
    members = "; ".join(f"{p.full_name}" + (f" ({p.relationship_to_client})"
                                            if p.relationship_to_client else "")
                        for p in household)
    pdf.field("สมาชิกในครัวเรือน:", members, pdf.width, last=True)
    pdf.ln(1.5)
    pdf.heading("2. สภาพปัญหาและความเป็นอยู่")
    pdf.box("สภาพปัญหา (ตามกลุ่มเป้าหมาย)", row.problem if row else "", 8)
    pdf.box("สภาพความเป็นอยู่ / ที่อยู่อาศัย", row.living_conditions if row else "", 6)
    pdf.box("รายได้และหนี้สิน", row.income_debts if row else "", 6)
    pdf.box("สุขภาพ", row.health if row else "", 5)
    pdf.box("การศึกษา", row.education if row else "", 4)

    # ---- page 2: risks, needs, the assessment and signatures -------------------------------
    pdf.add_page()
    pdf.heading("3. ความเสี่ยงและความต้องการ")
    pdf.box("ความเสี่ยงด้านความปลอดภัย", row.safety_risks if row else "", 6)
    pdf.box("ความต้องการความช่วยเหลือ", row.needs if row else "", 6)
    pdf.heading("4. การประเมินความเป็นอยู่ (1 = มีปัญหารุนแรง ... 4 = ไม่มีปัญหา)")
    scores = (row.scores or {}) if row else {}
    col = (44.0, 36.0, pdf.width - 80.0)
    pdf.set_font("Sarabun", "B", 10)
    pdf.set_fill_color(240, 240, 240)
    for width, title in zip(col, ("ด้าน", "คะแนน", "เหตุผล"), strict=True):
        pdf.cell(width, 6, title, border=1, fill=True)
    pdf.ln()
    for domain in Domain:
        item = scores.get(domain.value) or {}
        score = item.get("score")
        pdf.set_font("Sarabun", "B", 10)
        top = pdf.get_y()
        pdf.cell(col[0], 2 * LINE, label("domain", domain), border=1)
        pdf.set_font("Sarabun", "", 10)
        pdf.cell(col[1], 2 * LINE, label("score", str(score)) if score else "-", border=1)
        reason = fit_lines(pdf, str(item.get("reason") or "-"), col[2] - 2, 2)
        x = pdf.get_x()
        for n, line in enumerate(reason):
            pdf.set_xy(x + 1, top + n * LINE)
            pdf.cell(col[2] - 2, LINE, line)
        pdf.rect(x, top, col[2], 2 * LINE)
        pdf.set_xy(MARGIN, top + 2 * LINE)
    pdf.ln(2)
    risk = label("risk_level", row.risk_level) if row and row.risk_level else "ยังไม่ได้ประเมิน"
    pdf.set_font("Sarabun", "B", 11)
    pdf.cell(pdf.width, 6, f"ระดับความเสี่ยง: {risk}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Sarabun", "", 10)
    done = format_be_date(row.completed_at.date()) if row and row.completed_at else \
        "ฉบับร่าง (ยังไม่เสร็จสมบูรณ์)"
    pdf.cell(pdf.width, 5, f"สอบข้อเท็จจริงเสร็จเมื่อ: {done}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.heading("5. ความเห็นของผู้สอบข้อเท็จจริง")
    pdf.box("สรุปเรื่อง", case.summary or "", 4)
    pdf.ln(6)
    pdf.set_font("Sarabun", "", 10)
    for _who in range(2):
        pdf.cell(half, 5, "ลงชื่อ ..........................................", align="C")
    pdf.ln(6)
    for who in ("ผู้สอบข้อเท็จจริง", "หัวหน้าทีม / ผู้ตรวจสอบ"):
        pdf.cell(half, 5, f"({who})", align="C")
    pdf.ln(6)
    for _who in range(2):
        pdf.cell(half, 5, "วันที่ ........ / ........ / ........", align="C")
    return bytes(pdf.output())
