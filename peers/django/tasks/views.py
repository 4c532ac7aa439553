from django.http import JsonResponse
from rest_framework import generics

from .models import Task
from .serializers import TaskSerializer


class TaskCreate(generics.CreateAPIView):
    """POST a title and a description (form or JSON) -> 201 with the new row."""

    queryset = Task.objects.all()
    serializer_class = TaskSerializer

    def get_success_headers(self, data):
        return {"Location": f"/api/tasks/{data['id']}"}


def health(request):
    return JsonResponse({"status": "ok"})
