"""Progress display: a tqdm bar with the live loss and accuracy when stdout is a terminal, plain
log lines otherwise (or when tqdm, an optional extra, is not installed)."""
import sys
import time

__all__ = ["Progress"]


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class Progress:
    """Report training progress to ``stream`` (default ``sys.stdout``).

    Args:
        stream: where lines and bars go.
        bar: ``True``/``False`` forces the tqdm bar on or off; ``None`` uses it when ``stream``
            is a terminal and tqdm is installed.
        lines_per_epoch: in plain mode, how many batch lines to print per epoch.
        quiet: print nothing.
    """

    def __init__(self, stream=None, bar=None, lines_per_epoch=4, quiet=False):
        self.stream = stream or sys.stdout
        tqdm = _tqdm()
        if bar is None:
            bar = tqdm is not None and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._tqdm = tqdm if bar else None
        self.lines_per_epoch, self.quiet = lines_per_epoch, quiet
        self._bar, self._start = None, None

    def log(self, message):
        """Print a whole line (above the bar when one is showing)."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def start_epoch(self, epoch, epochs, batches, done=0):
        self._epoch, self._epochs, self._batches = epoch, epochs, batches
        self._every = max(1, batches // max(1, self.lines_per_epoch))
        self._start = time.perf_counter()
        if self._tqdm is not None and not self.quiet:
            self._bar = self._tqdm(total=batches, initial=done, desc=f"epoch {epoch}/{epochs}",
                                   file=self.stream, leave=False, dynamic_ncols=True,
                                   unit="batch")

    def update(self, batch, loss, acc=None):
        """After batch number ``batch`` (1-based): the running mean loss and accuracy."""
        if self.quiet:
            return
        if self._bar is not None:
            postfix = {"loss": f"{loss:.4f}"}
            if acc is not None:
                postfix["acc"] = f"{acc:.3f}"
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(1)
        elif batch % self._every == 0 and batch != self._batches:
            extra = f"  acc {acc:.4f}" if acc is not None else ""
            self.log(f"epoch {self._epoch}/{self._epochs}  batch {batch}/{self._batches}  "
                     f"loss {loss:.4f}{extra}")

    def end_epoch(self, message):
        """Close the bar and print the epoch's summary line (with its time)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        seconds = time.perf_counter() - self._start if self._start else 0.0
        self.log(f"{message}  ({seconds:.1f} s)")

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
