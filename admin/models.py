"""Settings the admin area keeps that no other package owns: the intake categories' names,
proposed priorities, order and whether they are offered (the codes stay the Category enum's:
incidents, cases and reports keep storing the code)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from console.db import Base, UTCDateTime, str_enum, utcnow
from dispatch.enums import Category, Priority

# Each category's settings until an administrator changes them (the migration stores the same):
# code -> Thai name, English name, the priority the intake form proposes.
CATEGORY_DEFAULTS: dict[str, tuple[str, str, str]] = {
    "children": ("เด็กและเยาวชน", "Children", "P2"),
    "domestic_violence": ("ความรุนแรงในครอบครัว", "Domestic violence", "P2"),
    "elderly": ("ผู้สูงอายุ", "Elderly", "P3"),
    "disability": ("คนพิการ", "Disability", "P3"),
    "homeless": ("คนไร้ที่พึ่ง / ขอทาน", "Homeless / begging", "P3"),
    "trafficking": ("การค้ามนุษย์", "Trafficking", "P1"),
    "suicide_risk": ("เสี่ยงฆ่าตัวตาย", "Suicide risk", "P1"),
    "labour": ("แรงงานถูกเอารัดเอาเปรียบ", "Labour exploitation", "P3"),
    "welfare_request": ("ขอรับเงินสงเคราะห์และสอบถามสิทธิ",
                        "Welfare request (relief subsidy, rights)", "P4"),
    "other": ("อื่น ๆ", "Other", "P4"),
}


class CategorySetting(Base):
    """One intake category as the centre's administrators set it."""

    __tablename__ = "category_setting"

    code: Mapped[Category] = mapped_column(str_enum(Category), primary_key=True)
    name_th: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    default_priority: Mapped[Priority] = mapped_column(str_enum(Priority, length=2))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    @classmethod
    def default(cls, code: Category) -> CategorySetting:
        """The settings a category has until an administrator saves its own (not stored)."""
        th, en, priority = CATEGORY_DEFAULTS.get(code.value, (code.value, code.value, "P3"))
        return cls(code=code, name_th=th, name_en=en, default_priority=Priority(priority),
                   active=True, position=list(Category).index(code))


def category_settings(session) -> list[CategorySetting]:
    """Every intake category's settings in list order: stored ones, else the defaults."""
    from sqlalchemy import select

    stored = {s.code: s for s in session.scalars(select(CategorySetting))}
    rows = [stored.get(code) or CategorySetting.default(code) for code in Category]
    return sorted(rows, key=lambda s: (s.position, list(Category).index(s.code)))


class TeamProfile(Base):
    """The admin's side of a rapid-response team: its vehicle, where it starts from (a point
    and/or a place in words) and whether it is in service. Kept apart from the team row so
    that an administrator's edit never races a dispatcher's status change (the team row's
    optimistic version stays the dispatcher's); no row = in service, nothing recorded."""

    __tablename__ = "team_profile"

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), primary_key=True)
    vehicle: Mapped[str] = mapped_column(String(120), default="", server_default="")
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    home_place: Mapped[str] = mapped_column(String(200), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IntakeScript(Base):
    """One version of an intake category's guided-intake script: the questions the call-taker
    asks and the rights and benefits to explain (Thai and English, one item per entry).
    National (one script per category for every province). Saving makes a new version; the
    old ones stay as they were (read-only), and each call keeps the version it was taken with
    (call.script_version_id)."""

    __tablename__ = "intake_script"
    __table_args__ = (UniqueConstraint("category", "version", name="uq_intake_script_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # An intake category code (dispatch.enums.Category), checked by the schema.
    category: Mapped[str] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column()
    questions_th: Mapped[list[str]] = mapped_column(JSON, default=list)
    questions_en: Mapped[list[str]] = mapped_column(JSON, default=list)
    rights_th: Mapped[list[str]] = mapped_column(JSON, default=list)
    rights_en: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What changed in this version, in the editor's words.
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
