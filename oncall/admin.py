from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import (
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Override,
    Roster,
    Rotation,
    TeamAdmin,
)


class RotationInline(admin.TabularInline):
    """Read only: rotation changes go through ``actions.change_rotation`` (the portal and
    the API), which keeps past shifts as they were."""

    model = Rotation
    extra = 0
    can_delete = False
    fields = ("effective_from", "start_date", "handoff_time", "shift_length", "shift_unit")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class StepInline(admin.TabularInline):
    """Read only: policies are edited in the portal and the API
    (``oncall.setup.actions.save_escalation_policy``)."""

    model = EscalationStep
    extra = 0
    can_delete = False
    fields = ("position", "wait_minutes", "kind", "roster", "user")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Roster)
class RosterAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "shift_length", "shift_unit", "time_zone"]
    inlines = [RotationInline]
    exclude = ["feed_token"]
    readonly_fields = [
        "calendar_feed_token",
        "shift_length",
        "shift_unit",
        "handoff_time",
        "start_date",
        "time_zone",
    ]

    @admin.display(description=_("feed token"))
    def calendar_feed_token(self, obj: Roster) -> str:
        # A key, not prose: marked so translators and readers' tools leave it alone.
        return format_html('<code translate="no">{}</code>', obj.feed_token)


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["team", "repeat"]
    inlines = [StepInline]
    # Edited in the portal and the API (oncall/setup), which check the steps.
    readonly_fields = ["team", "repeat"]


admin.site.register(Override)
admin.site.register(TeamAdmin)
admin.site.register(ContactMethod)
