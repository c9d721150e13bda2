from django.urls import re_path

from . import views

app_name = "api"

# Paths have no trailing slash (as in the OpenAPI schema); one is tolerated.
_ID = r"(?P<analysis_id>[^/]+)"

urlpatterns = [
    re_path(r"^analyses/?$", views.analyses, name="analyses"),
    re_path(rf"^analyses/{_ID}/?$", views.analysis, name="analysis"),
    re_path(rf"^raw/{_ID}/?$", views.raw, name="raw"),
    re_path(r"^schema/?$", views.schema, name="schema"),
    # The page for people, generated from the schema (HTML, not JSON).
    re_path(r"^docs/?$", views.docs, name="docs"),
    # Anything else under /api/ is a JSON 404, not the site's HTML page.
    re_path(r"^(?P<path>.*)$", views.unknown, name="unknown"),
]
