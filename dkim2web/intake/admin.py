from django.contrib import admin

from .models import Delivery, IntakeAddress, IntakePart


@admin.register(IntakeAddress)
class IntakeAddressAdmin(admin.ModelAdmin):
    list_display = ("token", "user", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("token", "user__username")
    raw_id_fields = ("user",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "owner", "mail_from", "client_ip", "size", "reply_state")
    list_filter = ("protocol", "reply_state")
    search_fields = ("mail_from", "client_ip", "helo", "sha256")
    raw_id_fields = ("owner", "address")


@admin.register(IntakePart)
class IntakePartAdmin(admin.ModelAdmin):
    list_display = ("analysis", "kind", "delivery", "mime_part")
    list_filter = ("kind",)
    raw_id_fields = ("analysis", "delivery", "parent")
