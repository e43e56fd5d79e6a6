"""Translated labels for every enum value the screens show (one place, also sent to the JS)."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from console.db import BANGKOK

LABELS = {
    "category": {
        "children": _l("Children"),
        "domestic_violence": _l("Domestic violence"),
        "elderly": _l("Elderly"),
        "disability": _l("Disability"),
        "homeless": _l("Homeless / begging"),
        "trafficking": _l("Trafficking"),
        "suicide_risk": _l("Suicide risk"),
        "other": _l("Other"),
    },
    "priority": {
        "P1": _l("P1 life in danger now"),
        "P2": _l("P2 urgent"),
        "P3": _l("P3 soon"),
        "P4": _l("P4 no time pressure"),
    },
    "status": {
        "new": _l("New"),
        "assigned": _l("Offered, awaiting acknowledgement"),
        "acknowledged": _l("Acknowledged"),
        "en_route": _l("En route"),
        "on_scene": _l("On scene"),
        "resolved": _l("Resolved"),
        "handed_over": _l("Handed to case management"),
        "cancelled": _l("Cancelled"),
    },
    "team_status": {
        "off_duty": _l("Off duty"),
        "available": _l("Available"),
        "offered": _l("Offered"),
        "en_route": _l("En route"),
        "on_scene": _l("On scene"),
        "clearing": _l("Clearing"),
    },
    "outcome": {
        "advice_given": _l("Advice given"),
        "referred_elsewhere": _l("Referred elsewhere"),
        "not_our_remit": _l("Not our remit, redirected"),
        "hoax": _l("Hoax / nuisance"),
        "silent": _l("Silent call"),
        "incident_created": _l("Incident created"),
        "needs_follow_up": _l("Needs follow-up: open a case"),
    },
    "call_reason": {
        "danger": _l("Someone is in danger now"),
        "advice": _l("Advice, rights"),
        "existing": _l("About an existing case"),
    },
    "call_status": {
        "queued": _l("Waiting in the queue"),
        "ringing": _l("Ringing"),
        "in_progress": _l("In progress"),
        "completed": _l("Ended"),
        "busy": _l("Busy"),
        "no_answer": _l("No answer"),
        "failed": _l("Failed"),
        "canceled": _l("Hung up"),
    },
    "flag_level": {
        "warn": _l("Warn: play a warning, then queue"),
        "low_priority": _l("Low priority: queue behind others"),
        "supervisor": _l("Route to a supervisor"),
        "at_risk": _l("At risk: never deprioritise"),
    },
    "age_group": {
        "child": _l("Child (0-17)"),
        "adult": _l("Adult (18-59)"),
        "elder": _l("Older person (60+)"),
        "unknown": _l("Age unknown"),
    },
    "sex": {
        "female": _l("Female"),
        "male": _l("Male"),
        "other": _l("Other"),
        "unknown": _l("Not known"),
    },
    "vulnerable_group": {
        "none": _l("None stated"),
        "child": _l("Child"),
        "woman": _l("Woman"),
        "elderly": _l("Older person"),
        "disabled": _l("Person with disability"),
        "homeless": _l("Homeless person"),
        "migrant": _l("Migrant / stateless"),
        "pregnant": _l("Pregnant"),
    },
    "precision": {
        "point": _l("exact point"),
        "subdistrict": _l("subdistrict centre, ±3 km"),
        "district": _l("district centre, ±15 km"),
        "province": _l("province centre, ±50 km"),
    },
    "skill": {
        "child_protection": _l("child protection"),
        "domestic_violence": _l("domestic violence"),
        "elderly": _l("older persons"),
        "disability": _l("disability"),
        "homeless": _l("homeless people"),
        "trafficking": _l("trafficking"),
        "psychiatric": _l("psychiatric"),
    },
    "alarm": {
        "sos": _l("SOS from a team"),
        "missed_checkin": _l("Missed safety check-in"),
        "offer_lapsed": _l("Offer not acknowledged in time"),
        "offer_declined": _l("Offer declined by the team"),
        "escalated": _l("Nobody acknowledged: escalated"),
        "unoffered": _l("Not yet offered to any team"),
    },
    "timeline": {
        "created": _l("Recorded"),
        "offer_lapsed": _l("Offer lapsed: not acknowledged in time"),
        "offer_declined": _l("Offer declined"),
        "checkin": _l("Safety check-in"),
        "escalated": _l("Escalated"),
        "unoffered": _l("Not offered to a team in time: supervisors alerted"),
        "report_joined": _l("Another citizen report joined"),
        "report_split": _l("A report was split off"),
        "split_from": _l("Split from another incident"),
        "merged": _l("Merged with another incident"),
        "opened": _l("Case opened"),
        "person_added": _l("Person added"),
        "reopened": _l("Case reopened"),
        "assessment_saved": _l("Fact-finding saved (draft)"),
        "assessment_completed": _l("Fact-finding completed"),
        "action_added": _l("Action added to the assistance plan"),
        "action_status": _l("Action progress recorded"),
        "assigned": _l("Case assigned"),
        "consent": _l("Consent recorded"),
        "referral_sent": _l("Referred to an agency"),
        "referral_acknowledged": _l("The agency received the referral"),
        "referral_accepted": _l("The agency accepted the referral"),
        "referral_declined": _l("The agency declined the referral"),
        "referral_completed": _l("The agency reported the outcome"),
        "referral_revoked": _l("Referral withdrawn"),
        "follow_up_scheduled": _l("Follow-up scheduled"),
        "follow_up_done": _l("Follow-up done"),
    },
    "follow_up_kind": {
        "visit": _l("Home visit"),
        "call": _l("Phone call"),
    },
    "referral_status": {
        "sent": _l("Sent, waiting for the agency"),
        "acknowledged": _l("Received by the agency"),
        "accepted": _l("Accepted by the agency"),
        "declined": _l("Declined by the agency"),
        "completed": _l("Outcome reported"),
        "revoked": _l("Withdrawn"),
    },
    "referral_step": {
        "acknowledged": _l("We have received it"),
        "accepted": _l("We accept this referral"),
        "declined": _l("We cannot take it (give the reason)"),
        "completed": _l("Report the outcome"),
    },
    "consent_item": {
        "identity": _l("Name and identity"),
        "contact": _l("Phone number"),
        "address": _l("Address"),
        "story": _l("The problem and needs"),
        "health": _l("Health"),
    },
    "domain": {
        "safety": _l("Safety"),
        "health": _l("Health"),
        "food_income": _l("Food and income"),
        "shelter": _l("Shelter"),
        "family_care": _l("Family care"),
        "education_work": _l("Education and work"),
    },
    "score": {
        "1": _l("1 serious problem"),
        "2": _l("2 problem"),
        "3": _l("3 some risk"),
        "4": _l("4 no problem"),
    },
    "risk_level": {
        "1": _l("Level 1: can wait"),
        "2": _l("Level 2: soon"),
        "3": _l("Level 3: urgent, served first"),
    },
    "plan_phase": {
        "urgent": _l("Urgent (subsidy, survival kit, emergency shelter)"),
        "medium": _l("Medium term (needs analysis, multidisciplinary meeting)"),
        "long": _l("Long term (housing, work, land, education across agencies)"),
    },
    "action_status": {
        "planned": _l("Planned"),
        "in_progress": _l("In progress"),
        "done": _l("Done"),
        "cancelled": _l("Cancelled"),
    },
    "escalation_action": {
        "team": _l("Offer to the next suggested team"),
        "supervisor": _l("Alert the supervisors (alarm and SMS)"),
        "provincial_office": _l("Call the provincial office"),
        "outside_responder": _l("Call an outside responder (police, EMS)"),
    },
    "case_source": {
        "incident": _l("Resolved incident"),
        "call": _l("Hotline call"),
        "ess": _l("ESS Help Me report"),
        "walk_in": _l("Walk-in"),
        "letter": _l("Letter"),
        "agency": _l("Another agency / Damrongtham Center"),
        "volunteer": _l("Social development volunteer"),
    },
    "person_role": {
        "client": _l("Client"),
        "household": _l("Household member"),
    },
    "no_id_reason": {
        "stateless": _l("Stateless"),
        "child": _l("Child without an ID card"),
        "not_given": _l("Not given"),
        "foreign": _l("Foreign national"),
    },
    "target_group": {
        "children_youth": _l("Children and youth"),
        "women_family_violence": _l("Women / family violence"),
        "elderly": _l("Elderly"),
        "disabled": _l("Persons with disabilities"),
        "homeless": _l("Homeless people"),
        "beggars": _l("Beggars"),
        "trafficking_labour": _l("Trafficking / labour"),
        "poor_household": _l("Poor household"),
        "bedridden": _l("Bedridden"),
        "psychiatric": _l("Psychiatric patients"),
        "stateless": _l("Stateless people"),
    },
    "case_status": {
        "intake": _l("Intake"),
        "fact_finding": _l("Fact-finding"),
        "planning": _l("Assistance plan"),
        "in_assistance": _l("In assistance"),
        "follow_up": _l("Follow-up"),
        "closed": _l("Closed"),
    },
    "role": {
        "call_taker": _l("Call-taker"),
        "dispatcher": _l("Dispatcher"),
        "supervisor": _l("Supervisor"),
        "field_member": _l("Field team member"),
        "case_worker": _l("Case worker"),
        "admin": _l("Administrator"),
    },
}


def labels_json() -> dict[str, dict[str, str]]:
    """All labels as plain strings in the current language, for the page's JS."""
    return {group: {k: str(v) for k, v in items.items()} for group, items in LABELS.items()}


def label(group: str, value: object) -> str:
    """One translated label; the raw value when unknown."""
    key = getattr(value, "value", value)
    return str(LABELS.get(group, {}).get(key, key))


_TH_MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.",
              "พ.ย.", "ธ.ค.")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_be(value: datetime | None, *, with_time: bool = True, lang: str | None = None) -> str:
    """Bangkok local date in the Buddhist era: '22 พ.ย. 2569 09:26' / '22 Nov 2569 BE 09:26'."""
    if value is None:
        return ""
    lang = lang or str(get_locale() or "th")
    local = value.astimezone(BANGKOK)
    year = local.year + 543
    if lang.startswith("th"):
        text = f"{local.day} {_TH_MONTHS[local.month - 1]} {year}"
    else:
        text = f"{local.day} {_EN_MONTHS[local.month - 1]} {year} BE"
    return f"{text} {local:%H:%M}" if with_time else text


def format_be_date(value: date | None, *, lang: str | None = None) -> str:
    """A calendar date in the Buddhist era: '1 พ.ย. 2569' / '1 Nov 2569 BE'."""
    if value is None:
        return ""
    lang = lang or str(get_locale() or "th")
    months = _TH_MONTHS if lang.startswith("th") else _EN_MONTHS
    text = f"{value.day} {months[value.month - 1]} {value.year + 543}"
    return text if lang.startswith("th") else f"{text} BE"


def be_input(value: date | None) -> str:
    """A date as the desk's date boxes take it back: day/month/year B.E. ('01/11/2569')."""
    return f"{value.day:02d}/{value.month:02d}/{value.year + 543}" if value else ""


def province_name(code: str | None) -> str:
    """A province's name in the current language (the code when unknown)."""
    from geo import gazetteer

    place = gazetteer.get(code) if code else None
    if place is None:
        return code or ""
    return place.name_th if str(get_locale() or "th").startswith("th") else place.name_en


def place_names(province: str | None, district: str | None, subdistrict: str | None) -> str:
    """'subdistrict, district, province' in the current language, from the gazetteer."""
    from geo import gazetteer

    thai = str(get_locale() or "th").startswith("th")
    names = []
    for code in (subdistrict, district, province):
        place = gazetteer.get(code) if code else None
        if place is not None:
            names.append(place.name_th if thai else place.name_en)
    return ", ".join(names)
