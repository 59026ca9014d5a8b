"""DataLoader: batches from a dataset, optionally prefetched by background threads.

Workers are threads, not processes: NumPy, Pillow and file reads release the GIL, so loading the
next batches overlaps the training step without copying the dataset into other processes. The
batches and their order are exactly those of ``num_workers=0``; only the timing changes.
"""
import collections
import concurrent.futures as cf
import itertools
import threading
import traceback

from ...random import default_generator
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]

_worker_local = threading.local()


class WorkerInfo:
    """What a loading thread knows about itself: ``id``, ``num_workers``, ``seed``, ``dataset``."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers})"


def get_worker_info():
    """The ``WorkerInfo`` of the calling DataLoader worker thread, or None in the main thread."""
    return getattr(_worker_local, "info", None)


def _in_worker(fn, *args):
    try:
        return fn(*args)
    except BaseException as exc:
        exc._worker_traceback = traceback.format_exc()
        raise


def _reraise(exc, batch_index):
    """Raise ``exc`` (from a worker) in the caller, naming the batch; keep its type if we can."""
    tb = getattr(exc, "_worker_traceback", None) or "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__))
    msg = (f"Caught {type(exc).__name__} in DataLoader worker thread while loading batch "
           f"{batch_index}.\nOriginal {tb}")
    try:
        new = type(exc)(msg)
    except Exception:
        new = RuntimeError(msg)
    raise new from exc


class DataLoader:
    """Iterate over a dataset in (shuffled) batches.

    Args:
        dataset: a map-style ``Dataset`` (``__getitem__``/``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch (default 1); ``None`` turns off batching.
        shuffle: reshuffle at every epoch (a ``RandomSampler`` on the loader's generator).
        sampler: where indices come from (mutually exclusive with ``shuffle``).
        batch_sampler: yields whole lists of indices (mutually exclusive with ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers: background threads that load batches ahead (0: load in the main thread).
        collate_fn: merges a list of samples into a batch (default ``default_collate``).
        pin_memory, timeout, multiprocessing_context, pin_memory_device: accepted for
            compatibility; ``timeout`` (seconds, 0 = none) bounds the wait for a worker's batch.
        drop_last: drop the last incomplete batch.
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker thread.
        generator: the ``chainrule.Generator`` that seeds shuffling (default generator if None).
        prefetch_factor: batches loaded ahead per worker (default 2 when ``num_workers > 0``).
        persistent_workers: keep the worker threads alive between epochs.

    Resuming: ``state_dict()`` records the current epoch's shuffle seed and how many batches have
    been yielded; after ``load_state_dict(state)`` the next ``iter(loader)`` yields exactly the
    remaining batches of that epoch, without loading the skipped ones.

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
        >>> for xb, yb in loader:
        ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor <= 0:
            raise ValueError(f"prefetch_factor option should be a positive integer, "
                             f"got {prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset, self.num_workers = dataset, num_workers
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self.pin_memory, self.timeout, self.worker_init_fn = pin_memory, timeout, worker_init_fn
        self.generator, self.in_order = generator, in_order

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            if self._iterable:
                BatchSampler([], batch_size, drop_last)        # validates the arguments
            else:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._executor = None
        self._current = None        # the live iterator (for state_dict)
        self._resume = None

    # ---- sizes ----
    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)            # TypeError if the stream has no length
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    # ---- loading ----
    def _fetch(self, index):
        if not self._auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.collate_fn is default_collate and hasattr(self.dataset, "_get_batch"):
            batch = self.dataset._get_batch(index)
            if batch is not None:
                return batch
        if hasattr(self.dataset, "__getitems__"):
            samples = self.dataset.__getitems__(index)
        else:
            samples = [self.dataset[i] for i in index]
        return self.collate_fn(samples)

    def _get_executor(self):
        if self._executor is None:
            n = 1 if self._iterable else self.num_workers
            counter, lock = itertools.count(), threading.Lock()
            seed = int((self.generator or default_generator).initial_seed())

            def init():
                with lock:
                    wid = next(counter)
                _worker_local.info = WorkerInfo(wid, self.num_workers, seed + wid, self.dataset)
                if self.worker_init_fn is not None:
                    self.worker_init_fn(wid)

            self._executor = cf.ThreadPoolExecutor(n, "chainrule-dataloader",
                                                   initializer=init)
        return self._executor

    def _release_executor(self, force=False):
        if self._executor is not None and (force or not self.persistent_workers):
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def __iter__(self):
        if self._current is not None and not self._current._done:
            self._current._close()          # an abandoned epoch stops prefetching
        resume, self._resume = self._resume, None
        skip = resume["batches_yielded"] if resume else 0
        if self._iterable:
            source = self._iterable_batches()
            sampler_state = None
        else:
            index_sampler = self._index_sampler
            if resume and resume.get("sampler") and hasattr(index_sampler, "load_state_dict"):
                index_sampler.load_state_dict(dict(resume["sampler"], num_yielded=0))
            if resume and resume.get("generator_state") is not None and self.generator:
                self.generator.set_state(resume["generator_state"])
            source = iter(index_sampler)
            sampler_state = index_sampler.state_dict() \
                if hasattr(index_sampler, "state_dict") else None
        gen_state = self.generator.get_state() if self.generator is not None else None
        for _ in range(skip):                  # skipped indices are never loaded
            if next(source, StopIteration) is StopIteration:
                break
        it = _LoaderIter(self, source, skip, sampler_state, gen_state)
        self._current = it
        return it

    def _iterable_batches(self):
        """Yields the raw (uncollated) batches of an IterableDataset."""
        if not self._auto_collation:
            yield from iter(self.dataset)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    # ---- resume ----
    def state_dict(self):
        """The loader's position: ``{'sampler', 'batches_yielded', 'generator_state'}``.

        ``sampler`` holds the current epoch's shuffle seed; ``batches_yielded`` counts batches
        handed to the caller (not those prefetched). Between epochs it describes a fresh start.
        """
        it = self._current
        if it is None or it._done:
            return {"sampler": None, "batches_yielded": 0, "generator_state": None}
        gen = it._gen_state
        return {"sampler": it._sampler_state, "batches_yielded": it._yielded,
                "generator_state": None if gen is None else gen.tolist()}

    def load_state_dict(self, state):
        """Make the next ``iter(loader)`` resume at ``state`` (see ``state_dict``)."""
        gen = state.get("generator_state")
        if gen is not None:
            import numpy as np
            from ...tensor import Tensor
            gen = Tensor._make(np.asarray(gen, dtype=np.uint8))
        self._resume = {"sampler": state.get("sampler"),
                        "batches_yielded": int(state.get("batches_yielded", 0)),
                        "generator_state": gen}

    def __del__(self):
        try:
            self._release_executor(force=True)
        except Exception:
            pass


class _LoaderIter:
    """One epoch over a DataLoader; prefetches ``num_workers * prefetch_factor`` batches."""

    def __init__(self, loader, source, start, sampler_state, gen_state):
        self._loader, self._source, self._next_index = loader, source, start
        self._yielded, self._done = start, False
        self._sampler_state, self._gen_state = sampler_state, gen_state
        self._pending = collections.deque()
        self._exhausted = False
        self._workers = loader.num_workers
        if self._workers and loader._iterable:
            self._workers = 1     # one reader keeps the stream's order and avoids duplicates

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _fill(self):
        loader = self._loader
        depth = self._workers * loader.prefetch_factor
        while len(self._pending) < depth and not self._exhausted:
            if loader._iterable:       # the stream is read in the (single) worker thread
                fut = loader._get_executor().submit(_in_worker, self._pull)
            else:
                item = next(self._source, StopIteration)
                if item is StopIteration:
                    break
                fut = loader._get_executor().submit(_in_worker, loader._fetch, item)
            self._pending.append((self._next_index, fut))
            self._next_index += 1

    def _pull(self):
        item = next(self._source, StopIteration)
        if item is StopIteration:
            self._exhausted = True
            return StopIteration
        return self._loader.collate_fn(item)

    def __next__(self):
        if self._done:
            raise StopIteration
        loader = self._loader
        if not self._workers:
            item = next(self._source, StopIteration)
            if item is StopIteration:
                return self._finish()
            batch = loader.collate_fn(item) if loader._iterable else loader._fetch(item)
        else:
            try:
                self._fill()
            except Exception:              # the sampler / stream itself failed
                self._close()
                raise
            if not self._pending:
                return self._finish()
            index, fut = self._pending.popleft()
            try:
                batch = fut.result(timeout=loader.timeout or None)
            except cf.TimeoutError:
                self._close()
                raise RuntimeError(f"DataLoader timed out after {loader.timeout} seconds "
                                   f"waiting for batch {index}") from None
            except Exception as exc:
                self._close()
                _reraise(exc, index)
            if batch is StopIteration:
                return self._finish()
            self._fill()
        self._yielded += 1
        return batch

    def _finish(self):
        self._done = True
        self._loader._release_executor()
        raise StopIteration

    def _close(self):
        self._done = True
        for _, fut in self._pending:
            fut.cancel()
        self._pending.clear()
        self._loader._release_executor(force=True)

    def __del__(self):
        if not self._done and self._pending:
            try:
                self._close()
            except Exception:
                pass
