from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .forms import WebhookForm
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
from .transports import webhook as webhook_transport


@admin.register(DistributionList)
class DistributionListAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "language"]
    filter_horizontal = ["teams"]


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "language", "confirmed_at", "created_at"]
    search_fields = ["email"]
    exclude = ["confirm_token", "unsubscribe_token"]


@admin.register(ChatWebhook)
class ChatWebhookAdmin(admin.ModelAdmin):
    list_display = ["team", "format", "language", "active"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["name", "url", "active"]
    readonly_fields = ["standard_webhooks_secret"]

    @admin.display(description=_("Standard Webhooks secret"))
    def standard_webhooks_secret(self, obj: Webhook) -> str:
        # The same key in the form Standard Webhooks verifiers take (docs/webhooks.md);
        # a key, not prose: marked so translators and readers' tools leave it alone.
        if not obj.secret:
            return "-"
        return format_html(
            '<code translate="no">{}</code>', webhook_transport.standard_secret(obj.secret)
        )


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
