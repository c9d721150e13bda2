from django.contrib import admin

from .models import ShareLink


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ("prefix", "analysis", "created_by", "created_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    raw_id_fields = ("analysis", "created_by")
    # The hash is useless to read and must not be edited into a chosen value.
    readonly_fields = ("token_hash", "prefix", "created_at")
