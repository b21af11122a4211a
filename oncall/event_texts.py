"""The shapes of paging events, in the reader's language (see ``incidents.entry_texts``).

Each paging step is stored with its facts on the incident's timeline and in its paging
history (``PagingEvent.data``); both render from these shapes at display time.
Reasons (why an escalation stopped, why a page failed) are facts of a shape of their
own, or free text from a tool, shown as it came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents.entry_texts import reason, register

from .models import ContactKind, PageReason


@register("paging.started")
def _started(d: Mapping[str, Any]) -> str:
    return _("Severity %(severity)s: paging started.") % {"severity": d["severity"]}


@register("paging.stopped")
def _stopped(d: Mapping[str, Any]) -> str:
    return _("Escalation stopped: %(why)s.") % {"why": reason(d["why"])}


@register("paging.acknowledged")
def _acknowledged(d: Mapping[str, Any]) -> str:
    if d.get("why"):
        text = _("%(who)s acknowledged the page (%(why)s).") % {
            "who": d["who"],
            "why": reason(d["why"]),
        }
    else:
        text = _("%(who)s acknowledged the page.") % {"who": d["who"]}
    cancelled = int(d.get("cancelled") or 0)
    if cancelled:
        text += " " + (
            ngettext(
                "%(count)s earlier page still retrying cancelled.",
                "%(count)s earlier pages still retrying cancelled.",
                cancelled,
            )
            % {"count": cancelled}
        )
    return text


@register("paging.manual")
def _manual(d: Mapping[str, Any]) -> str:
    return _("%(who)s paged %(person)s: %(message)s") % {
        "who": d["who"],
        "person": d["person"],
        "message": d["message"],
    }


@register("paging.nobody_on_call")
def _nobody_on_call(d: Mapping[str, Any]) -> str:
    if d.get("roster"):
        return _("Nobody is on call for %(roster)s.") % {"roster": d["roster"]}
    return _("Nobody is on call for no roster.")


@register("paging.paged_roster")
def _paged_roster(d: Mapping[str, Any]) -> str:
    return _("Paged %(person)s (%(reason)s, %(roster)s).") % {
        "person": d["person"],
        "reason": str(PageReason(d["reason"]).label),
        "roster": d["roster"],
    }


@register("paging.step_gone_person")
def _step_gone_person(d: Mapping[str, Any]) -> str:
    return _("Step %(number)s: %(target)s can no longer be paged.") % {
        "number": d["number"],
        "target": d["target"],
    }


@register("paging.step_paged")
def _step_paged(d: Mapping[str, Any]) -> str:
    return _("Step %(number)s: paged %(person)s.") % {"number": d["number"], "person": d["person"]}


@register("paging.step_no_members")
def _step_no_members(d: Mapping[str, Any]) -> str:
    return _("Step %(number)s: %(target)s has no members.") % {
        "number": d["number"],
        "target": d["target"],
    }


@register("paging.step_paged_team")
def _step_paged_team(d: Mapping[str, Any]) -> str:
    return _("Step %(number)s: paged all of %(target)s: %(names)s.") % {
        "number": d["number"],
        "target": d["target"],
        "names": ", ".join(d["people"]),
    }


@register("paging.step_gone_roster")
def _step_gone_roster(d: Mapping[str, Any]) -> str:
    return _("Step %(number)s: %(target)s no longer exists.") % {
        "number": d["number"],
        "target": d["target"],
    }


def _channel(d: Mapping[str, Any]) -> str:
    # An address is shown with its kind; a webhook was recorded by kind and host only.
    if d["channel"] == ContactKind.EMAIL:
        return _("%(kind)s %(address)s") % {
            "kind": str(ContactKind(d["channel"]).label),
            "address": d["shown"],
        }
    return str(d["shown"])


@register("paging.gave_up")
def _gave_up(d: Mapping[str, Any]) -> str:
    tries = int(d["tries"])
    return ngettext(
        "Page to %(recipient)s: %(channel)s gave up after %(count)s try: %(result)s",
        "Page to %(recipient)s: %(channel)s gave up after %(count)s tries: %(result)s",
        tries,
    ) % {"recipient": d["recipient"], "channel": _channel(d), "count": tries, "result": d["result"]}


@register("paging.failed")
def _failed(d: Mapping[str, Any]) -> str:
    return _("Page to %(recipient)s failed: %(why)s") % {
        "recipient": d["recipient"],
        "why": reason(d["why"]),
    }


@register("paging.cancelled")
def _cancelled(d: Mapping[str, Any]) -> str:
    return _("Page to %(recipient)s cancelled: %(why)s") % {
        "recipient": d["recipient"],
        "why": reason(d["why"]),
    }


@register("paging.reached_nobody")
def _reached_nobody(d: Mapping[str, Any]) -> str:
    return _("Page to %(recipient)s reached nobody: escalating now.") % {
        "recipient": d["recipient"]
    }


@register("paging.team_restricted")
def _team_restricted(d: Mapping[str, Any]) -> str:
    return _("Severity 3, restricted: %(team)s's address is not e-mailed; page a person.") % {
        "team": d["team"]
    }


@register("paging.team_emailed")
def _team_emailed(d: Mapping[str, Any]) -> str:
    return _("Severity 3: e-mailed %(team)s (%(email)s).") % {
        "team": d["team"],
        "email": d["email"],
    }


# Reasons: the words after "Escalation stopped:", "acknowledged the page (...)",
# "Page to ... failed:".


@register("why.claimed")
def _why_claimed(d: Mapping[str, Any]) -> str:
    return _("claimed the incident")


@register("why.given")
def _why_given(d: Mapping[str, Any]) -> str:
    return _("gave the incident to %(person)s") % {"person": d["person"]}


@register("why.severity_lowered")
def _why_severity_lowered(d: Mapping[str, Any]) -> str:
    return _("severity lowered to %(severity)s") % {"severity": d["severity"]}


@register("why.resolved")
def _why_resolved(d: Mapping[str, Any]) -> str:
    return _("the incident is resolved")


@register("why.no_contact")
def _why_no_contact(d: Mapping[str, Any]) -> str:
    return _("no contact method and no e-mail address")


@register("why.team_address_restricted")
def _why_team_address_restricted(d: Mapping[str, Any]) -> str:
    return _("the incident is restricted; a team address is not paged")


@register("why.acknowledged_in")
def _why_acknowledged_in(d: Mapping[str, Any]) -> str:
    return _("acknowledged in %(integration)s") % {"integration": d["integration"]}


# Notes the alerts write on their incident.


@register("alerts.all_resolved")
def _alerts_all_resolved(d: Mapping[str, Any]) -> str:
    if d.get("manager"):
        return _(
            "All alerts of %(key)s are resolved; the impact end is recorded. "
            "%(manager)s: resolve the incident once you have confirmed the impact is over."
        ) % {"key": d["key"], "manager": d["manager"]}
    return _(
        "All alerts of %(key)s are resolved; the impact end is recorded. The incident "
        "manager: resolve the incident once you have confirmed the impact is over."
    ) % {"key": d["key"]}


@register("storm.started")
def _storm_started(d: Mapping[str, Any]) -> str:
    return _(
        "Alert storm: more than %(threshold)s new alert groups in %(minutes)s minutes from "
        "%(integration)s. New groups fold into this incident, paging once, until the rate "
        "falls back under the threshold."
    ) % {"threshold": d["threshold"], "minutes": d["minutes"], "integration": d["integration"]}


@register("storm.ended")
def _storm_ended(d: Mapping[str, Any]) -> str:
    return ngettext(
        "The alert storm is over: %(count)s alert group folded into this incident. New "
        "alert groups of %(integration)s page again.",
        "The alert storm is over: %(count)s alert groups folded into this incident. New "
        "alert groups of %(integration)s page again.",
        d["count"],
    ) % {"count": d["count"], "integration": d["integration"]}
