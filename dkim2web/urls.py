from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from dkim2web import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("analyses/", include("dkim2web.reports.urls")),
    path("accounts/", include("dkim2web.accounts.urls")),
    path("shared/", include("dkim2web.sharing.urls")),
    path("api/", include("dkim2web.api.urls")),
    path("samples/", include("dkim2web.samples.urls")),
    path("intake/", include("dkim2web.intake.urls")),
    path("healthz", health.healthz, name="healthz"),
]

# The admin only where DKIM2WEB_ADMIN_PATH puts it: admin/ under make run (DEBUG on), nowhere
# in production unless set (docs/operations.md, "Throttling").
if settings.DKIM2WEB_ADMIN_PATH:
    urlpatterns.append(path(settings.DKIM2WEB_ADMIN_PATH, admin.site.urls))
