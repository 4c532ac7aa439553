"""URL routes. APPEND_SLASH is off (a POST cannot be redirected), so both
spellings of each path are routed."""
from django.urls import path

from tasks import views

urlpatterns = [
    path("api/tasks/", views.TaskCreate.as_view(), name="task-create"),
    path("api/tasks", views.TaskCreate.as_view()),
    path("health/", views.health, name="health"),
    path("health", views.health),
]
