"""Django admin: admins keep the catalogue here. Incidents are read-only in the admin
because every incident change goes through the actions and their timeline."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from incidents.models import Incident, Product, Service, Team, TimelineEntry


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "email"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team"]
    list_filter = ["team"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "shown_on_status_page"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["services"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    fields = readonly_fields = ("occurred_at", "kind", "author", "text")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["key", "severity", "status", "summary", "faulty_service", "assignee"]
    list_filter = ["status", "severity", "faulty_service", "restricted"]
    search_fields = ["key", "summary"]
    list_select_related = ["faulty_service", "assignee"]
    inlines = [TimelineInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        # Restricted incidents stay hidden here too from everyone not involved.
        return Incident.objects.visible_to(request.user)
