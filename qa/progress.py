"""Progress bars on stderr (so --json output on stdout stays clean), keyed by stage name."""
from __future__ import annotations

import sys


class Bars:
    """Callable as ``progress(stage, done, total)``; one tqdm bar per stage."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def close(self) -> None:
        for b in self.bars.values():
            b.close()
