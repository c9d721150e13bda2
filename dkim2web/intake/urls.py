from django.urls import path

from . import views

app_name = "intake"
urlpatterns = [
    path("", views.addresses, name="addresses"),
    path("rotate/", views.rotate, name="rotate"),
]
