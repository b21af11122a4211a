"""Django admin: admins keep the catalogue here. Incidents are read-only in the admin
because every incident change goes through the actions and their timeline."""

from django.contrib import admin
from django.http import HttpRequest

from incidents.admin import ReadOnlyAdmin
from incidents.workspace.models import ChangeToken, ServiceChange


@admin.register(ServiceChange)
class ServiceChangeAdmin(ReadOnlyAdmin):
    list_display = ["happened_at", "service", "kind", "summary", "author"]
    list_filter = ["service", "kind"]
    search_fields = ["summary", "author", "external_id"]


@admin.register(ChangeToken)
class ChangeTokenAdmin(admin.ModelAdmin):
    """Revoke a token by deleting it; issue one with ``manage.py issue_change_token``."""

    list_display = ["service", "label", "created_at", "last_used_at"]
    readonly_fields = ["service", "label", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
