from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    ChatMessage,
    ChatWebhook,
    Communication,
    Component,
    DistributionList,
    OutboundEmail,
    StatusPageIncident,
    Subscriber,
    Webhook,
    WebhookDelivery,
)


@admin.register(DistributionList)
class DistributionListAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default"]
    filter_horizontal = ["teams"]


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "confirmed_at", "created_at"]
    search_fields = ["email"]
    exclude = ["confirm_token", "unsubscribe_token"]


@admin.register(ChatWebhook)
class ChatWebhookAdmin(admin.ModelAdmin):
    list_display = ["team", "format", "active"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "active"]


class ReadOnly(admin.ModelAdmin):
    """Records of what was sent: changed only by the outbox, never by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnly):
    list_display = ["subject", "to", "status", "attempts", "sent_at"]
    list_filter = ["status"]


@admin.register(ChatMessage)
class ChatMessageAdmin(ReadOnly):
    list_display = ["incident", "webhook", "status", "attempts", "sent_at"]
    list_filter = ["status"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ["event", "webhook", "status", "attempts", "sent_at"]
    list_filter = ["status", "event"]


@admin.register(Communication)
class CommunicationAdmin(ReadOnly):
    list_display = ["incident", "audience", "kind", "state", "published_at"]
    list_filter = ["audience", "kind", "state"]


@admin.register(StatusPageIncident)
class StatusPageIncidentAdmin(ReadOnly):
    list_display = ["name", "audience", "status", "updated_at"]


@admin.register(Component)
class ComponentAdmin(ReadOnly):
    list_display = ["product", "status", "updated_at"]
