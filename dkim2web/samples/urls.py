from django.urls import URLPattern

app_name = "samples"
urlpatterns: list[URLPattern] = []
