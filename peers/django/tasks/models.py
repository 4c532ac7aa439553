from django.db import models


class Task(models.Model):
    """A row of the `task` table. The table comes from the project's schema.sql,
    so Django does not manage (migrate) it."""

    title = models.CharField(max_length=255)
    description = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "task"
        managed = False
