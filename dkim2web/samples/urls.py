from django.urls import path

from . import views

app_name = "samples"
urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("<slug:slug>/analyse/", views.run, name="run"),
]
