"""A progress bar on a terminal, nothing when output is piped or captured."""

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm import tqdm


def progress_bar(stream: TextIO | None = None, *, description: str) -> Any:
    stream = stream or sys.stderr

    def wrap(iterable: Iterable[Any], total: int) -> Iterable[Any]:
        return tqdm(
            iterable,
            total=total,
            desc=description,
            unit="item",
            file=stream,
            disable=not getattr(stream, "isatty", lambda: False)(),
        )

    return wrap
