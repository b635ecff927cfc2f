"""The WSGI entry point gunicorn loads (landscape/wsgi.py)."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

PROBE = (
    "import gc; before = gc.get_freeze_count(); import landscape.wsgi as w; "
    "print(before, gc.get_freeze_count(), callable(w.application))"
)


def test_the_application_loads_with_its_startup_objects_out_of_the_collectors_reach():
    # Every full collection a request triggers would otherwise traverse all of Django's
    # startup objects (10 to 150 ms per search at 100,000 entries, bench/).
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "landscape.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    before, after, callable_app = result.stdout.split()
    assert before == "0"
    assert int(after) > 10_000  # Django and the project's modules, not a handful of objects
    assert callable_app == "True"
