import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "landscape.settings")
application = get_wsgi_application()

# What Django has loaded so far lives as long as the process: moved out of the collector's
# generations, it is no longer traversed by every full collection a request triggers (at
# 100,000 entries those collections cost a search 10 to 150 ms each, bench/profiles).
gc.freeze()
