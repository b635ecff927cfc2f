from django.shortcuts import get_object_or_404, render

from projects.models import Project
from projects.selectors import category_tree


def landscape(request):
    pillars = category_tree()
    projects = Project.objects.published().only(
        "name", "slug", "category_id", "maturity", "health", "position"
    )
    by_category: dict[int, list[Project]] = {}
    for project in projects:
        by_category.setdefault(project.category_id, []).append(project)
    sections = [
        {
            "pillar": pillar,
            "boxes": [
                {"category": sub, "projects": by_category.get(sub.pk, [])}
                for sub in pillar.children.all()
            ],
        }
        for pillar in pillars
    ]
    total = sum(len(v) for v in by_category.values())
    return render(request, "projects/landscape.html", {"sections": sections, "total": total})


def project_detail(request, slug: str):
    project = get_object_or_404(
        Project.objects.published().select_related("category__parent"), slug=slug
    )
    return render(request, "projects/detail.html", {"project": project})
