"""The real landscape against a fake GitHub where every listed repository is alive."""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command

from projects.models import Finding, Project, RepositoryStatus
from projects.sources import parse_repo_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_landscape(shared_data, fake_github):
    call_command("import_landscape", str(shared_data / "landscape.yml"), stdout=StringIO())
    refs = {parse_repo_url(url) for url in Project.objects.values_list("repo_url", flat=True)}
    for ref in filter(None, refs):
        if ref.host == "github.com":
            fake_github.active(ref.full_name, days_ago=30)
    return fake_github


def test_pytorch3d_listed_archived_but_active_on_the_shared_data(real_landscape, github_token):
    out = StringIO()
    call_command("refresh_status", "--all", "--sync", stdout=out, stderr=StringIO())

    pytorch3d = Project.objects.get(slug="pytorch3d")
    assert pytorch3d.maturity == "archived"
    assert pytorch3d.health == "active"
    findings = list(pytorch3d.findings.filter(state="open"))
    assert [f.kind for f in findings] == ["listed_archived_but_active"]
    assert findings[0].suggestion == {"action": "unarchive", "field": "maturity"}

    repositories = RepositoryStatus.objects.count()
    summary = out.getvalue()
    checked = int(re.search(r"checked (\d+)", summary).group(1))
    requests = int(re.search(r"API requests (\d+)", summary).group(1))
    assert checked == repositories > 120
    # GraphQL: 50 repositories a query.
    assert requests == -(-repositories // 50)
    # Every archived listing whose repository is alive is flagged, and nothing else.
    archived_with_repo = Project.objects.filter(maturity="archived", repositories__isnull=False)
    assert Finding.objects.filter(state="open").count() == archived_with_repo.count()

    report = StringIO()
    call_command("status_report", "--json", stdout=report)
    row = next(r for r in json.loads(report.getvalue()) if r["slug"] == "pytorch3d")
    assert row["health"] == "active"
    assert [f["kind"] for f in row["findings"]] == ["listed_archived_but_active"]
