"""Translated labels for every enum value the screens show (one place, also sent to the JS)."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

# NOTE: lazy, under the name babel's extractor knows (pgettext: context, message), for the few
# English words that mean two things ("In progress": a call, a plan action).
from flask_babel import lazy_pgettext as pgettext

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
        "labour": _l("Labour exploitation"),
        "welfare_request": _l("Welfare request (relief subsidy, rights)"),
        "other": _l("Other"),
    },
    "priority": {
        "P1": _l("P1 life in danger now"),
        "P2": _l("P2 urgent"),
        "P3": _l("P3 soon"),
        "P4": _l("P4 no time pressure"),
    },
    # The badge beside an incident: the level in words, as Thai official papers mark urgency
    # (ด่วนที่สุด, ด่วนมาก, ด่วน); the code P1-P4 stays an identifier (classes, API, ladders).
    "priority_short": {
        "P1": pgettext("priority", "Most urgent"),
        "P2": pgettext("priority", "Very urgent"),
        "P3": pgettext("priority", "Urgent"),
        "P4": pgettext("priority", "Not urgent"),
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
        "none": _l("no point on the map yet"),
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
        "case_overdue": _l("A case's referral or plan action is late"),
        "case_office": _l("Still late: the provincial social development office is alerted"),
        "roster_short": _l("A shift is about to start short of people"),
    },
    # What a roster alarm says, from its stored facts, in the reader's language (the desk's
    # banner in static/js/alarms.js, the SMS in dispatch/flows.py).
    "duty_role": {
        "call_taker": _l("Call-taker"),
        "dispatcher": _l("Dispatcher"),
        "supervisor": _l("Supervisor on duty"),
        "team": _l("Team on call"),
    },
    "alarm_note": {
        "roster_short": _l("Shift of %(date)s, %(range)s, is short of people: %(missing)s"),
        "missing": _l("%(role)s: %(count)s"),
    },
    # Why an alarm went to every supervisor of the province (alarm.facts sent_to_all).
    "alarm_sent_to_all": {
        "nobody_on_duty": _l("No supervisor is on duty by the roster now: sent to every "
                             "supervisor of the province"),
        "no_phone": _l("The supervisor on duty has no phone number for SMS: sent to every "
                       "supervisor of the province"),
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
        "person_merged": _l("Two records of the same person were merged"),
        "transfer_proposed": _l("Transfer to another province proposed"),
        "transfer_accepted": _l("Transfer accepted: the case moved to another province"),
        "transfer_declined": _l("Transfer declined: the case stays"),
        "transfer_withdrawn": _l("Transfer withdrawn: the case stays"),
        "transfer_unassigned": _l("Actions and follow-ups without a worker after the transfer"),
        "place_set": _l("District and subdistrict of the case set"),
        "handover_offered": _l("Case offered to another worker"),
        "handover_accepted": _l("Hand-over accepted: the case has a new worker"),
        "handover_declined": _l("Hand-over declined: the case stays with its worker"),
        "handover_withdrawn": _l("Hand-over withdrawn"),
        "assessment_saved": _l("Fact-finding saved (draft)"),
        "assessment_completed": _l("Fact-finding completed"),
        "action_added": _l("Action added to the assistance plan"),
        "action_status": _l("Action progress recorded"),
        "assigned": _l("Case assigned"),
        "consent": _l("Consent recorded"),
        "referral_sent": _l("Referred to an agency"),
        "intake_call": _l("Another call from the person, referred at intake"),
        "incident_joined": _l("The incident was resolved: its record joined this case"),
        "referral_acknowledged": _l("The agency received the referral"),
        "referral_accepted": _l("The agency accepted the referral"),
        "referral_declined": _l("The agency declined the referral"),
        "referral_completed": _l("The agency reported the outcome"),
        "referral_revoked": _l("Referral withdrawn"),
        "follow_up_scheduled": _l("Follow-up scheduled"),
        "follow_up_done": _l("Follow-up done"),
        "follow_up_volunteer": _l("Follow-up given to a social development volunteer"),
        "overdue_owner": _l("Late: a reminder was sent"),
        "overdue_supervisor": _l("Still late: the supervisors are alerted"),
        "overdue_office": _l("Still late: the provincial social development office is alerted"),
    },
    # What a late step of a case is (case alarms, reminders).
    "reminder_step": {
        "ack": _l("The agency has not acknowledged the referral"),
        "accept": _l("The agency has not accepted or declined the referral"),
        "outcome": _l("The agency has not reported the outcome"),
        "action": _l("A plan action is past its due date"),
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
        "in_progress": pgettext("plan action", "In progress"),
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
    # Why a person on record may be the one being entered (cases/persons.py).
    "duplicate_reason": {
        "same_national_id": _l("same national ID"),
        "same_name": _l("same name"),
        "similar_name": _l("name sounds the same"),
        "same_birth_date": _l("same birth date"),
        "same_birth_year": _l("same birth year"),
        "similar_age": _l("about the same age"),
        "same_district": _l("same district"),
        "same_province": _l("same province"),
    },
    "transfer_status": {
        "pending": _l("Transfer pending"),
        "accepted": _l("Transfer accepted"),
        "declined": _l("Transfer declined"),
        "withdrawn": _l("Transfer withdrawn"),
    },
    "handover_status": {
        "pending": _l("Hand-over pending"),
        "accepted": _l("Hand-over accepted"),
        "declined": _l("Hand-over declined"),
        "withdrawn": _l("Hand-over withdrawn"),
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
        "agency": _l("Agency user"),
        "volunteer": _l("Social development volunteer"),
    },
}


# Priority spelled out in words, for messages outside the console (police, EMS, agencies read
# them without knowing the P1-P4 codes): the same words as on the screens.
PRIORITY_WORDS = LABELS["priority"]

# Field names of the forms and APIs, as the error page names them (never the raw key).
FIELD_LABELS = {
    "summary": _l("What happened"), "description": _l("What happened"),
    "advice": pgettext("call form field", "Advice given"), "caller_name": _l("Name"),
    "number": _l("Caller number"), "category": _l("Category"), "priority": _l("Priority"),
    "people": _l("People involved"), "age_group": _l("Age"), "age_years": _l("Age"),
    "sex": _l("Sex"), "vulnerable_group": _l("Target group"), "target_groups": _l("Target group"),
    "location": _l("Location"), "province_code": _l("Province"), "district_code": _l("District"),
    "subdistrict_code": _l("Subdistrict"), "lat": _l("Latitude"), "lon": _l("Longitude"),
    "address_text": _l("Address, landmarks"), "notes": _l("Notes for the team"),
    "note": _l("Note"), "outcome": _l("Outcome"), "agency_id": _l("Agency"),
    "reason": _l("Reason"), "hours": _l("For how many hours (empty = until lifted)"),
    "level": _l("Flag"), "action": _l("Action"),
    "wait_seconds": _l("Wait for acknowledgement (seconds)"), "contact_name": _l("Whom to call"),
    "contact_phone": _l("Number"), "full_name": _l("Full name"), "national_id": _l("National ID"),
    "no_id_reason": _l("National ID"), "birth_date": _l("Birth date (day/month/year B.E.)"),
    "relationship_to_client": _l("Relationship to the client"), "phone": _l("Phone"),
    "role": _l("Role"), "username": _l("Username"), "display_name": _l("Name"),
    "team_id": _l("Team"), "current_password": _l("Current password"),
    "new_password": _l("New password"), "confirm_password": _l("New password again"),
    "visited_at": _l("Home visit date (day/month/year B.E.)"), "problem": _l("The problem"),
    "living_conditions": _l("Living conditions"), "income_debts": _l("Income and debts"),
    "health": _l("Health"), "education": _l("Education"), "safety_risks": _l("Safety risks"),
    "needs": _l("Needs"), "scores": _l("Well-being scores (each with its reason)"),
    "risk_level": _l("Risk level"), "phase": _l("Phase"), "domain": _l("Domain"),
    "title": pgettext("assistance plan", "Action"),
    "due_on": _l("Due date (day/month/year B.E.)"), "owner_user_id": _l("Who does it"),
    "owner_agency_id": _l("Who does it"), "status": _l("Status"), "items": _l("Consent to share"),
    "given_on": _l("Given on (day/month/year B.E.)"), "service": _l("Service"),
    "name": _l("Your name and position"), "purpose": _l("Purpose"), "kind": _l("How"),
    "assigned_to_id": _l("Who"), "user_id": _l("Who"),
    "client_feedback": _l("The client's feedback"),
    "lessons_learned": _l("Lessons learned"), "photos": _l("Photos"), "source": _l("Source"),
    "to": _l("Next step"), "q": _l("Find place"),
    "days": _l("Number of days"),
}


# Subsidies (เงินสงเคราะห์, cases/subsidies.py): statuses, the default approval levels and
# budget lines (a province's own are named in its rows), the steps on the case timeline.
LABELS["subsidy_status"] = {
    "pending": _l("Waiting for approval"),
    "approved": _l("Approved, to be paid"),
    "rejected": _l("Not approved"),
    "paid": _l("Paid"),
}
LABELS["subsidy_level"] = {
    "team_head": _l("Team head"),
    "provincial_office": _l("Provincial social development office"),
}
LABELS["budget_line"] = {
    "emergency_relief": _l("Emergency relief for people in social difficulty"),
    "family_support": _l("Low-income families and people without support"),
    "disability": _l("Support for persons with disabilities"),
    "elderly": _l("Older persons in hardship"),
}
LABELS["timeline"].update({
    "subsidy_requested": _l("Subsidy requested"),
    "subsidy_approved": _l("Subsidy approved at one level"),
    "subsidy_rejected": _l("Subsidy not approved"),
    "subsidy_paid": _l("Subsidy paid"),
    "subsidy_document": _l("Document attached to a subsidy request"),
})
# Desk defects (issue 14): the SOS on the incident's timeline, a place nobody could give.
LABELS["timeline"].update({
    "sos": _l("SOS from the team"),
    "sos_handled": _l("A supervisor took charge of the team's SOS"),
})
FIELD_LABELS.update({
    "amount": _l("Amount (baht)"), "budget_line": _l("Budget line"),
    "plan_action_id": _l("Urgent plan action"), "paid_on": _l("Paid on (day/month/year B.E.)"),
    "payment_ref": _l("Payment reference"), "file": _l("Document"),
})

# Every intake source (issue 14): where an incident came from, and the likely-duplicate reasons
# the desks show (dispatch/fusion.py).
LABELS["source"] = {
    "hotline": _l("Hotline 1300 call"),
    "ess": _l("ESS Help Me report"),
    "line": _l("ESS Help Me on LINE"),
    "app": _l("ESS Help Me app"),
    "walk_in": _l("Walk-in"),
    "letter": _l("Letter"),
    "damrongdhama": _l("Referral from a Damrongdhama Centre"),
    "surveillance": _l("News or social-media item"),
    "agency": _l("Referral from another agency"),
    "volunteer": _l("Social development volunteer"),
}
LABELS["fusion_reason"] = {
    "same_caller": _l("same caller number"),
    "same_place": _l("same place"),
    "same_category": _l("same category"),
}
# Not a duplicate, and a merge split again (issue 14), on the incident's timeline.
LABELS["timeline"].update({
    "not_duplicate": _l("Marked not a duplicate of another incident"),
    "merge_split": _l("Merge undone: the merged incident was split off again"),
    "restored": _l("Split off again from the incident it was merged into"),
})
FIELD_LABELS.update({
    "source_link": _l("Link to the item"), "source_org": _l("Referred by"),
})

# The heading of an error page, in words (the status code stays small beside it).
ERROR_TITLES = {
    400: _l("The request could not be read"), 403: _l("Not allowed"), 404: _l("Not found"),
    409: _l("Not saved yet"), 410: _l("No longer available"), 413: _l("Too large"),
    422: _l("Please check the form"), 429: _l("Please wait"),
    503: _l("Temporarily unavailable"),
}


def error_title(status: int) -> str:
    """'Not found' for 404 (and so on); a general heading for any other code."""
    return str(ERROR_TITLES.get(int(status), _l("Something went wrong")))


def field_label(path: str) -> str:
    """A field of a refused form by its label ('people.1.sex' -> 'Sex (item 2)'); '' when the
    key names no field the user can see (the message then stands alone)."""
    parts = str(path).split(".")
    names = [p for p in parts if not p.isdigit()]
    items = [int(p) + 1 for p in parts if p.isdigit()]
    known = [n for n in names if n in FIELD_LABELS or n in LABELS["domain"]]
    if not known:
        return ""
    last = known[-1]
    text = str(FIELD_LABELS.get(last) or LABELS["domain"][last])
    domain = next((n for n in known if n in LABELS["domain"] and n != last), None)
    if domain:
        text = f"{LABELS['domain'][domain]}: {text}"  # 'Safety: Reason' (a score's reason)
    if items:
        from flask_babel import gettext

        return gettext("%(field)s (item %(n)s)", field=text, n=items[-1])
    return text


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


def _thai(lang: str | None) -> bool:
    return (lang or str(get_locale() or "th")).startswith("th")


def _local(value: datetime | str) -> datetime:
    """Bangkok local time of an aware datetime (or of its ISO text, as events carry it)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(BANGKOK)


# The time of day the official Thai way (002:1, 001:1207): "09.26 น."; English "09:26". The
# page's JS gets the same patterns (date_formats), so both sides write times alike.
_TH_CLOCK = "{h}.{m} น."
_EN_CLOCK = "{h}:{m}"
_TH_RANGE = "{h1}.{m1}–{h2}.{m2} น."
_EN_RANGE = "{h1}:{m1}–{h2}:{m2}"


def format_clock(value: datetime | time | str | None, *, lang: str | None = None) -> str:
    """A time of day: '09.26 น.' / '09:26' (a datetime is read in Bangkok time)."""
    if value is None:
        return ""
    if not isinstance(value, time):
        value = _local(value)
    pattern = _TH_CLOCK if _thai(lang) else _EN_CLOCK
    return pattern.format(h=f"{value.hour:02d}", m=f"{value.minute:02d}")


def format_clock_range(start: datetime | time, end: datetime | time, *,
                       lang: str | None = None) -> str:
    """A span of the day: '08.30–16.30 น.' / '08:30–16:30' (the unit once, at the end)."""
    start = start if isinstance(start, time) else _local(start)
    end = end if isinstance(end, time) else _local(end)
    pattern = _TH_RANGE if _thai(lang) else _EN_RANGE
    return pattern.format(h1=f"{start.hour:02d}", m1=f"{start.minute:02d}",
                          h2=f"{end.hour:02d}", m2=f"{end.minute:02d}")


def format_be(value: datetime | str | None, *, with_time: bool = True,
              lang: str | None = None) -> str:
    """Bangkok local date in the Buddhist era: '22 พ.ย. 2569 09.26 น.' /
    '22 Nov 2569 BE 09:26'."""
    if value is None or value == "":
        return ""
    local = _local(value)
    year = local.year + 543
    if _thai(lang):
        text = f"{local.day} {_TH_MONTHS[local.month - 1]} {year}"
    else:
        text = f"{local.day} {_EN_MONTHS[local.month - 1]} {year} BE"
    return f"{text} {format_clock(local, lang=lang)}" if with_time else text


def _translated(lang: str | None, fn, *args, **kwargs) -> str:
    """gettext/ngettext in `lang` when given (an SMS in its reader's language), else the user's."""
    if lang is None:
        return fn(*args, **kwargs)
    from flask_babel import force_locale

    with force_locale(lang):
        return fn(*args, **kwargs)


def format_duration(seconds: float, *, lang: str | None = None) -> str:
    """A length of time in words, without leading zeros: '2 นาที 5 วินาที' / '2 min 5 s';
    from an hour on: '1 ชั่วโมง 5 นาที' / '1 h 5 min'."""
    from flask_babel import gettext

    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        if minutes:
            return _translated(lang, gettext, "%(hours)s h %(minutes)s min", hours=hours,
                               minutes=minutes)
        return _translated(lang, gettext, "%(hours)s h", hours=hours)
    if minutes and secs:
        return _translated(lang, gettext, "%(minutes)s min %(seconds)s s", minutes=minutes,
                           seconds=secs)
    if minutes:
        return _translated(lang, gettext, "%(minutes)s min", minutes=minutes)
    return _translated(lang, gettext, "%(seconds)s s", seconds=secs)


def minutes_ago(minutes: int, *, lang: str | None = None) -> str:
    """'5 นาทีที่แล้ว' / '5 minutes ago': one translatable string with its number."""
    from flask_babel import ngettext

    count = max(0, int(minutes))
    return _translated(lang, ngettext, "%(num)s minute ago", "%(num)s minutes ago", count)


def shift_name(start: datetime, end: datetime, *, lang: str | None = None) -> str:
    """The duty round by its hours: 'เวรนี้ (08.30–16.30 น.)' / 'This shift (08:30–16:30)'."""
    from flask_babel import gettext

    hours = format_clock_range(start, end, lang=lang)
    return _translated(lang, gettext, "This shift (%(hours)s)", hours=hours)


def date_formats(lang: str | None = None) -> dict:
    """What the page's JS needs to write dates and times like format_be does."""
    thai = _thai(lang)
    return {"months": list(_TH_MONTHS if thai else _EN_MONTHS), "era": "" if thai else " BE",
            "clock": _TH_CLOCK if thai else _EN_CLOCK, "range": _TH_RANGE if thai else _EN_RANGE}


def format_be_date(value: date | None, *, lang: str | None = None) -> str:
    """A calendar date in the Buddhist era: '1 พ.ย. 2569' / '1 Nov 2569 BE'."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    thai = _thai(lang)
    months = _TH_MONTHS if thai else _EN_MONTHS
    text = f"{value.day} {months[value.month - 1]} {value.year + 543}"
    return text if thai else f"{text} BE"


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
