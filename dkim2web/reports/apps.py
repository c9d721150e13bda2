from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "dkim2web.reports"
    label = "reports"
    verbose_name = "DKIM2 analyses"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, handover  # noqa: F401  (registers the checks, the log-in signal)
