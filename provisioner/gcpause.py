"""gc_paused: the cyclic garbage collector waits while thousands of records are built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector waits while this runs (nested uses are fine).

    Used by the manifest load, the state load and the plan: they build hundreds of thousands
    of small acyclic objects, which the collector would walk again and again as they grow (a
    fifth of the time of a plan of thousands of resources) and find nothing to free. When it
    may run again, what exists is moved out of its sight (gc.freeze): else the first allocation
    after would start a collection of all of it (a tenth of a second at thousands; even a
    small plan saves the full collections of what its imports made). Cycles among those
    objects are then never freed, which a command that ends soon can afford."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()
