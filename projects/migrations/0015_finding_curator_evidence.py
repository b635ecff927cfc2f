"""Findings get evidence only curators see; what was public and is not (a reporter's
email and message, the workers' error texts) moves there, and repositories' health words
lose the error texts (projects.disclosure). Updating the finding rows makes the
api_entrybody triggers write the entries' stored bodies again."""

from django.db import migrations, models

from projects.disclosure import evidence_split


def split_evidence(apps, schema_editor):
    Finding = apps.get_model("projects", "Finding")
    for finding in Finding.objects.iterator(chunk_size=500):
        public, curator = evidence_split(finding.kind, finding.evidence)
        if curator:
            finding.evidence = public
            finding.curator_evidence = {**curator, **(finding.curator_evidence or {})}
            finding.save(update_fields=["evidence", "curator_evidence"])
    RepositoryStatus = apps.get_model("projects", "RepositoryStatus")
    for repository in RepositoryStatus.objects.exclude(last_error="").iterator(chunk_size=500):
        public, curator = evidence_split("repository", repository.health_evidence)
        if curator:
            repository.health_evidence = public
            repository.save(update_fields=["health_evidence"])


def join_evidence(apps, schema_editor):
    # Back to one public evidence: the report's contact returns where it was.
    Finding = apps.get_model("projects", "Finding")
    for finding in Finding.objects.exclude(curator_evidence={}).iterator(chunk_size=500):
        finding.evidence = {**finding.evidence, **finding.curator_evidence}
        finding.save(update_fields=["evidence"])


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0014_alternative_proposals"),
    ]

    operations = [
        migrations.AddField(
            model_name="finding",
            name="curator_evidence",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(split_evidence, join_evidence),
    ]
