"""Issue 19: a URL whose host can only be inside a network is refused when an entry is
saved (API, /submit/, admin, import, an applied finding), whatever the fetch guard's
OUTBOUND_ALLOWED_NETWORKS says."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from projects import status
from projects.landscape_yml import LandscapeFormatError, parse_landscape
from projects.models import Finding, Project
from projects.validators import validate_public_url

INTERNAL = [
    "http://localhost/",
    "http://LOCALHOST.:8000/",
    "https://app.localhost/",
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://10.0.0.5/admin",
    "http://172.16.3.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a00:1]/",
    "https://printer.local/",
    "https://db.corp.internal/",
    "https://router.home.arpa/",
    "https://intranet/",
    "https://wiki/",
    "http://999.1.1.1/",
]
PUBLIC = [
    "https://pytorch.org/",
    "https://8.8.8.8/",
    "https://[2606:4700:4700::1111]/",
    "https://docs.example.org/en/latest/",
    "https://localhost.example.com/",
    "https://my.local.example/",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_the_validator_refuses_hosts_inside_a_network(url, settings):
    # Even where fetching from every address is allowed, saving one is not.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    with pytest.raises(ValidationError) as excinfo:
        validate_public_url(url)
    assert "Enter a public address" in excinfo.value.messages[0]


@pytest.mark.parametrize("url", PUBLIC)
def test_the_validator_accepts_public_hosts(url):
    validate_public_url(url)


def _yml(**urls: str) -> str:
    lines = "".join(f"            {k}: {json.dumps(v)}\n" for k, v in urls.items())
    return (
        "landscape:\n  - category:\n    name: C\n    subcategories:\n      - subcategory:\n"
        "        name: S\n        items:\n          - item:\n            name: X\n" + lines
    )


@pytest.mark.parametrize("key", ["homepage_url", "repo_url", "twitter"])
def test_the_importer_refuses_an_internal_url(key):
    urls = {"homepage_url": "https://x.example/", key: "http://169.254.169.254/"}
    with pytest.raises(LandscapeFormatError, match=f"{key}.*public"):
        parse_landscape(_yml(**urls))


def test_the_importer_refuses_an_internal_other_link():
    text = _yml(homepage_url="https://x.example/") + (
        "            extra:\n              other_links:\n"
        "                - name: wiki\n                  url: http://wiki.internal/\n"
    )
    with pytest.raises(LandscapeFormatError, match="other_links"):
        parse_landscape(text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("homepage_url", "http://127.0.0.1:8000/"),
        ("documentation_url", "http://[::1]/docs"),
        ("repo_url", "http://gitlab.internal/acme/alpha"),
        ("twitter_url", "http://localhost/"),
        ("other_links", [{"name": "metadata", "url": "http://169.254.169.254/"}]),
    ],
)
def test_the_api_refuses_an_internal_url(client, world, field, value):
    before = Project.objects.get(slug="alpha")
    response = client.patch(
        "/api/v1/projects/alpha/",
        json.dumps({field: value}),
        content_type="application/json",
        **world["actors"]["staff"].auth,
    )
    assert response.status_code == 400, response.content
    assert "public address" in response.content.decode()
    after = Project.objects.get(slug="alpha")
    assert getattr(after, field) == getattr(before, field)


@pytest.mark.django_db
def test_the_api_refuses_a_new_entry_on_an_internal_host(client, world):
    response = client.post(
        "/api/v1/projects/",
        json.dumps(
            {
                "name": "Gamma",
                "category": "training-general",
                "homepage_url": "http://10.0.0.1/",
            }
        ),
        content_type="application/json",
        **world["actors"]["other"].auth,
    )
    assert response.status_code == 400
    assert "public address" in response.json()["homepage_url"][0]
    assert not Project.objects.filter(name="Gamma").exists()


@pytest.mark.django_db
def test_submit_refuses_an_internal_url(client, world):
    client.force_login(world["actors"]["other"].user)
    response = client.post(
        "/submit/",
        {
            "name": "Gamma",
            "category": world["related"]["category"].pk,
            "homepage_url": "https://gamma.local/",
        },
    )
    assert response.status_code == 200
    assert "Enter a public address" in response.content.decode()
    assert not Project.objects.filter(name="Gamma").exists()


def _admin_form(project: Project, **changes) -> dict:
    data = {
        "name": project.name,
        "slug": project.slug,
        "description": project.description,
        "homepage_url": project.homepage_url,
        "repo_url": project.repo_url or "",
        "repo_branch": "",
        "additional_repos": "[]",
        "documentation_url": project.documentation_url,
        "other_links": "[]",
        "tags": "[]",
        "category": project.category_id,
        "maturity": project.maturity,
        "organization": "",
        "twitter_url": "",
        "crunchbase_url": "",
        "landscape_extra": "{}",
        "position": project.position,
        "publication": project.publication,
        "secondarycategory_set-TOTAL_FORMS": "0",
        "secondarycategory_set-INITIAL_FORMS": "0",
        "maintainers-TOTAL_FORMS": "0",
        "maintainers-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("homepage_url", "http://192.168.0.1/"),
        ("documentation_url", "http://docs.internal/"),
        ("other_links", '[{"name": "m", "url": "http://[fd00::2]/"}]'),
        ("additional_repos", '[{"repo_url": "http://git.internal/a/b"}]'),
    ],
)
def test_the_admin_refuses_an_internal_url(client, world, field, value):
    alpha = world["alpha"]
    client.force_login(world["actors"]["staff"].user)
    response = client.post(
        f"/admin/projects/project/{alpha.pk}/change/", _admin_form(alpha, **{field: value})
    )
    assert response.status_code == 200, response.status_code
    assert "public address" in response.content.decode()
    alpha.refresh_from_db()
    assert getattr(alpha, field) in ("", [], alpha.homepage_url)


@pytest.mark.django_db
def test_a_finding_that_suggests_an_internal_url_is_not_applied(world):
    alpha = world["alpha"]
    now = datetime.now(UTC)
    finding = Finding.objects.create(
        project=alpha,
        kind="link_redirected",
        subject=alpha.homepage_url,
        suggestion={"action": "update_url", "field": "homepage", "value": "http://10.1.2.3/"},
        first_seen=now,
        last_seen=now,
    )
    with pytest.raises(status.FindingNotApplicable, match="public address"):
        status.finding_apply(finding=finding, user=None)
    alpha.refresh_from_db()
    assert alpha.homepage_url == "https://alpha.example/"
