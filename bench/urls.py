"""The product's URLs (landscape.urls), plus the framework floor when ``BENCH_FLOOR=1``.

The floor is a bare view returning a fixed 10 KB JSON body: what our own stack (gunicorn,
every middleware, the settings) costs before a single query. It exists only in bench
processes started with that variable; the product's urls never name it.
"""

import os

from django.http import HttpResponse
from django.urls import path

from bench.floor import FLOOR
from landscape.urls import urlpatterns as product_urlpatterns


def floor(request):
    return HttpResponse(FLOOR, content_type="application/json")


urlpatterns = list(product_urlpatterns)
if os.environ.get("BENCH_FLOOR") == "1":
    urlpatterns.insert(0, path("bench/floor", floor, name="bench-floor"))
