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
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
]
