from django.contrib import admin

from .models import (
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Override,
    Participant,
    Roster,
    TeamAdmin,
)


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0


class StepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0


@admin.register(Roster)
class RosterAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "shift_length", "shift_unit", "time_zone"]
    inlines = [ParticipantInline]
    readonly_fields = ["feed_token"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["team", "repeat"]
    inlines = [StepInline]


admin.site.register(Override)
admin.site.register(TeamAdmin)
admin.site.register(ContactMethod)
