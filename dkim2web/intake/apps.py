from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "dkim2web.intake"
    label = "intake"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Mail intake"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
