"""Progress bars for long commands: the library calls progress(stage, done, total), the command
decides how it looks (French labels, tqdm on the terminal's error stream)."""
from __future__ import annotations


class TerminalProgress:
    """progress(stage, done, total) drawn as one tqdm bar per stage; LABELS maps a stage to
    its French (description, unit). TERMINAL_ONLY: no bar when stderr is not a terminal
    (tqdm's ``disable=None``), for commands that scripts run."""

    def __init__(self, labels: dict[str, tuple[str, str]], terminal_only: bool = False):
        self.labels = labels
        self.disable = None if terminal_only else False
        self.stage, self.bar = None, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            desc, unit = self.labels.get(stage, (stage, "élément"))
            self.stage, self.bar = stage, tqdm(total=total, desc=desc, unit=unit,
                                              disable=self.disable)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.stage, self.bar = None, None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
