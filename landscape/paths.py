"""Where the directory keeps its files; read by the settings and by the embedded PostgreSQL
(landscape.embedded_db), which starts before any settings can be loaded."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Uploads, the embedded database, the broker's queue folders, beat's schedule.
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")
