from django.urls import path, re_path

from . import views

app_name = "sharing"

# token_urlsafe(24): 32 characters of the URL-safe base64 alphabet.
_TOKEN = r"(?P<token>[A-Za-z0-9_-]{16,64})"

urlpatterns = [
    path("analyses/<uuid:analysis_id>/", views.manage, name="manage"),
    path("analyses/<uuid:analysis_id>/create/", views.create, name="create"),
    path("links/<int:link_id>/revoke/", views.revoke, name="revoke"),
    re_path(rf"^{_TOKEN}/$", views.view, name="view"),
    re_path(rf"^{_TOKEN}/raw/$", views.raw, name="raw"),
    re_path(rf"^{_TOKEN}/report\.json$", views.report, name="report"),
    re_path(rf"^{_TOKEN}/m(?P<m>[0-9]{{1,6}})\.eml$", views.instance, name="instance"),
    re_path(rf"^{_TOKEN}/m(?P<m>[0-9]{{1,6}})\.diff$", views.diff, name="diff"),
    re_path(
        rf"^{_TOKEN}/authentication-results\.txt$", views.authentication_results, name="authres"
    ),
]
