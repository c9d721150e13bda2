from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.analysis_list, name="list"),
    path("new/", views.new, name="new"),
    path("<uuid:analysis_id>/", views.detail, name="detail"),
    path("<uuid:analysis_id>/status/", views.status, name="status"),
    path("<uuid:analysis_id>/rerun/", views.rerun, name="rerun"),
    path("<uuid:analysis_id>/envelope/", views.reanalyse_with_envelope, name="envelope"),
    path("<uuid:analysis_id>/returned/", views.analyse_returned, name="returned"),
    path("<uuid:analysis_id>/delete/", views.delete, name="delete"),
    path("<uuid:analysis_id>/message.eml", views.download_raw, name="raw"),
    path("<uuid:analysis_id>/m<int:m>.eml", views.download_instance, name="instance"),
    path("<uuid:analysis_id>/m<int:m>.diff", views.download_diff, name="diff"),
    path("<uuid:analysis_id>/report.json", views.download_report, name="report_json"),
    path("<uuid:analysis_id>/authentication-results.txt", views.download_authres, name="authres"),
]
