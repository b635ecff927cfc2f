"""Alternatives are proposed by one entry's maintainer and linked once the other entry's
maintainer (or staff) accept (projects.alternatives); the link's choices are published
entries only. Links made before get their accepted row, so that maintainers can unlink
them from the proposals list."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def accepted_rows_for_existing_links(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    AlternativeProposal = apps.get_model("projects", "AlternativeProposal")
    now = timezone.now()
    # A symmetrical link is two rows; one accepted proposal stands for the pair.
    pairs = Project.alternatives.through.objects.filter(
        from_project_id__lt=models.F("to_project_id")
    ).values_list("from_project_id", "to_project_id")
    AlternativeProposal.objects.bulk_create(
        AlternativeProposal(from_project_id=a, to_project_id=b, state="accepted", decided_at=now)
        for a, b in pairs.iterator()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0013_project_pushed_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="project",
            name="alternatives",
            field=models.ManyToManyField(
                blank=True, limit_choices_to={"publication": "published"}, to="projects.project"
            ),
        ),
        migrations.CreateModel(
            name="AlternativeProposal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("proposed", "proposed"),
                            ("accepted", "accepted"),
                            ("declined", "declined"),
                            ("withdrawn", "withdrawn"),
                            ("removed", "accepted, later removed"),
                        ],
                        db_index=True,
                        default="proposed",
                        max_length=20,
                    ),
                ),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "from_project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alternatives_proposed",
                        to="projects.project",
                        verbose_name="entry",
                    ),
                ),
                (
                    "proposed_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "to_project",
                    models.ForeignKey(
                        limit_choices_to={"publication": "published"},
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alternatives_received",
                        to="projects.project",
                        verbose_name="alternative",
                    ),
                ),
            ],
            options={
                "ordering": ["-created", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("state", "proposed")),
                        fields=("from_project", "to_project"),
                        name="alternative_one_open_proposal",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("from_project", models.F("to_project")), _negated=True),
                        name="alternative_not_itself",
                    ),
                ],
            },
        ),
        migrations.RunPython(accepted_rows_for_existing_links, migrations.RunPython.noop),
    ]
