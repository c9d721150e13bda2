from __future__ import annotations

from django.contrib import admin

from .models import Analysis, AnalysisRun


class AnalysisRunInline(admin.TabularInline):
    model = AnalysisRun
    extra = 0
    can_delete = False
    fields = ("created_at", "result", "revision", "engine_version", "draft")
    readonly_fields = fields
    show_change_link = True


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "owner", "status", "revision", "size", "created_at")
    list_filter = ("status", "envelope_source", "revision")
    search_fields = ("id", "sha256", "filename", "mail_from")
    # status is the worker's and the sweep's to change: an analysis set back to "queued" here
    # would keep its finished_at, and the sweep, which looks only at unfinished analyses
    # (migration 0009), would never run it. A re-run is the page's "Re-run" (analysis_rerun).
    readonly_fields = (
        "id",
        "sha256",
        "size",
        "created_at",
        "status",
        "started_at",
        "finished_at",
        "attempts",
    )
    raw_id_fields = ("owner",)
    inlines = (AnalysisRunInline,)


@admin.register(AnalysisRun)
class AnalysisRunAdmin(admin.ModelAdmin):
    list_display = ("analysis", "result", "revision", "engine_version", "draft", "created_at")
    list_filter = ("result", "revision", "engine_version")
    raw_id_fields = ("analysis",)
