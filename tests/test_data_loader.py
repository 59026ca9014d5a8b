"""chainrule.utils.data: datasets, samplers, collate and DataLoader semantics (PyTorch's)."""
import collections
import threading
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule
from chainrule.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                  IterableDataset, RandomSampler, SequentialSampler, Subset,
                                  SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                                  default_collate, get_worker_info, random_split)


class Squares(Dataset):
    def __init__(self, n=10, delay=0.0):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        return np.full(2, i, dtype=np.float32), i * i


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def firsts(loader):
    return [b[0].data[:, 0].astype(int).tolist() if isinstance(b, list) else b.tolist()
            for b in loader]


def test_sequential_order_len_and_drop_last():
    loader = DataLoader(Squares(10), batch_size=4)
    assert len(loader) == 3
    assert firsts(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loader = DataLoader(Squares(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and firsts(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    x, y = next(iter(DataLoader(Squares(10), batch_size=3)))
    assert x.shape == (3, 2) and x.dtype == chainrule.float32
    assert y.tolist() == [0, 1, 4] and y.dtype == chainrule.int64


def test_shuffle_is_seeded_by_chainrule_generator():
    chainrule.manual_seed(3)
    a = firsts(DataLoader(Squares(20), batch_size=6, shuffle=True))
    chainrule.manual_seed(3)
    b = firsts(DataLoader(Squares(20), batch_size=6, shuffle=True))
    assert a == b and sorted(sum(a, [])) == list(range(20)) and sum(a, []) != list(range(20))
    loader = DataLoader(Squares(20), batch_size=20, shuffle=True)
    assert firsts(loader) != firsts(loader)                 # a new permutation per epoch
    g1, g2 = chainrule.Generator().manual_seed(7), chainrule.Generator().manual_seed(7)
    c = firsts(DataLoader(Squares(20), batch_size=6, shuffle=True, generator=g1))
    chainrule.manual_seed(99)
    assert c == firsts(DataLoader(Squares(20), batch_size=6, shuffle=True, generator=g2))


def test_workers_give_identical_batches_and_overlap():
    ds = Squares(23)
    chainrule.manual_seed(5)
    ref = firsts(DataLoader(ds, batch_size=4, shuffle=True))
    for workers, prefetch in ((1, 1), (3, 2), (4, 5)):
        chainrule.manual_seed(5)
        got = firsts(DataLoader(ds, batch_size=4, shuffle=True, num_workers=workers,
                                prefetch_factor=prefetch))
        assert got == ref
    loader = DataLoader(ds, batch_size=5, num_workers=2, persistent_workers=True)
    assert firsts(loader) == firsts(loader) == firsts(DataLoader(ds, batch_size=5))
    slow = Squares(16, delay=0.03)          # 8 batches x 2 samples x 30 ms = 0.48 s serially
    t = time.perf_counter()
    assert len(list(DataLoader(slow, batch_size=2, num_workers=8))) == 8
    assert time.perf_counter() - t < 0.3


def test_worker_info_and_init_fn():
    seen, lock = set(), threading.Lock()

    class Info(Squares):
        def __getitem__(self, i):
            info = get_worker_info()
            with lock:
                seen.add(info.id)
            return i

    started = []
    loader = DataLoader(Info(12), batch_size=2, num_workers=3, worker_init_fn=started.append)
    assert sum(firsts(loader), []) == list(range(12))
    assert seen <= set(started) <= {0, 1, 2} and len(started) == len(set(started))
    assert get_worker_info() is None


def test_worker_exception_names_batch():
    class Bad(Squares):
        def __getitem__(self, i):
            if i == 7:
                raise KeyError("broken sample")
            return i

    with pytest.raises(KeyError, match=r"batch 2[\s\S]*broken sample"):
        list(DataLoader(Bad(10), batch_size=3, num_workers=2))
    with pytest.raises(KeyError, match="broken sample"):
        list(DataLoader(Bad(10), batch_size=3))


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_mid_epoch(workers):
    ds = Squares(22)
    chainrule.manual_seed(11)
    loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=workers)
    it = iter(loader)
    head = [next(it)[0].data[:, 0].astype(int).tolist() for _ in range(2)]
    state = loader.state_dict()
    assert state["batches_yielded"] == 2 and state["sampler"]["seed"] is not None
    rest = [b[0].data[:, 0].astype(int).tolist() for b in it]
    assert len(rest) == 4 and sorted(sum(head + rest, [])) == list(range(22))

    chainrule.manual_seed(12345)               # a different global RNG state on restart
    fresh = DataLoader(Squares(22), batch_size=4, shuffle=True, num_workers=workers)
    fresh.load_state_dict(state)
    assert firsts(fresh) == rest
    assert fresh.state_dict()["batches_yielded"] == 0      # the epoch finished: fresh start


def test_resume_with_own_generator_repeats_later_epochs():
    g = chainrule.Generator().manual_seed(1)
    loader = DataLoader(Squares(12), batch_size=5, shuffle=True, generator=g)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    rest, following = [b[0].tolist() for b in it], firsts(loader)
    other = DataLoader(Squares(12), batch_size=5, shuffle=True,
                       generator=chainrule.Generator().manual_seed(2))
    other.load_state_dict(state)
    assert [b[0].tolist() for b in other] == rest and firsts(other) == following


def test_resume_skips_without_loading_and_custom_batch_sampler():
    loaded = []

    class Log(Squares):
        def __getitem__(self, i):
            loaded.append(i)
            return i

    loader = DataLoader(Log(9), batch_size=2)
    loader.load_state_dict({"sampler": None, "batches_yielded": 3})
    assert firsts(loader) == [[6, 7], [8]] and loaded == [6, 7, 8]
    bs = [[3, 1], [0], [2, 4]]
    loader = DataLoader(Squares(5), batch_sampler=bs)
    loader.load_state_dict({"batches_yielded": 1})
    assert firsts(loader) == [[0], [2, 4]]


def test_default_collate_matches_torch():
    Point = collections.namedtuple("Point", "x y")
    samples = [{"img": np.full((2, 2), i, np.uint8), "f": 0.5 * i, "n": i, "b": i % 2 == 0,
                "s": f"id{i}", "np": np.float32(i), "pt": Point(i, (i, [i, i]))}
               for i in range(3)]
    ours, ref = default_collate(samples), tud.default_collate(samples)

    def same(a, b):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, chainrule.Tensor) and str(a.dtype).split(".")[-1] == \
                str(b.dtype).split(".")[-1]
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        elif isinstance(b, dict):
            assert a.keys() == b.keys()
            for k in b:
                same(a[k], b[k])
        elif isinstance(b, (list, tuple)):
            assert type(a) is type(b) and len(a) == len(b)
            for x, y in zip(a, b):
                same(x, y)
        else:
            assert a == b

    same(ours, ref)
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


def test_dataloader_argument_errors():
    ds = Squares(4)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)


@pytest.mark.parametrize("shuffle", [False, True])
def test_empty_dataset_yields_nothing(shuffle):
    for workers in (0, 2):
        loader = DataLoader(Squares(0), batch_size=3, shuffle=shuffle, num_workers=workers)
        assert len(loader) == 0 and list(loader) == []


def test_no_batching_and_iterable_datasets():
    out = list(DataLoader(Squares(3), batch_size=None))
    assert isinstance(out[0][0], chainrule.Tensor) and out[2][1] == 4
    for workers in (0, 2):
        loader = DataLoader(Stream(7), batch_size=3, num_workers=workers)
        assert len(loader) == 3 and firsts(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    assert firsts(DataLoader(Stream(7), batch_size=3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]


def test_samplers():
    chainrule.manual_seed(0)
    assert sorted(RandomSampler(range(6))) == list(range(6))
    s = RandomSampler(range(4), replacement=True, num_samples=50)
    draws = list(s)
    assert len(s) == 50 == len(draws) and set(draws) <= set(range(4))
    assert sorted(collections.Counter(RandomSampler(range(3), num_samples=7)).values()) == [2, 2, 3]
    assert sorted(SubsetRandomSampler([5, 9, 2])) == [2, 5, 9]
    w = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000)
    counts = np.bincount(list(w), minlength=3)
    assert counts[0] == 0 and 0.2 < counts[1] / 4000 < 0.3
    assert sorted(WeightedRandomSampler([1, 1, 1], 3, replacement=False)) == [0, 1, 2]
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="1d"):
        WeightedRandomSampler([[1.0]], 1)
    for n, bs, drop in ((10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)):
        ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
        ref = tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop)
        assert list(ours) == list(ref) and len(ours) == len(ref)
    s = RandomSampler(range(8))
    first = list(s)
    s.load_state_dict({"seed": s.state_dict()["seed"], "num_yielded": 5})
    assert list(s) == first[5:]


def test_datasets_and_random_split():
    x, y = chainrule.randn(6, 2), chainrule.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6 and ds[4][1].item() == 4
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(x, chainrule.arange(5))
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))   # gather fast path
    np.testing.assert_array_equal(xb.numpy(), x.numpy()[yb.numpy()])
    sub = Subset(Squares(10), [9, 2])
    assert len(sub) == 2 and sub[0][1] == 81
    cat = ConcatDataset([Squares(3), Squares(2)])
    assert len(cat) == 5 and cat[3][1] == 0 and cat[-1][1] == 1 and (Squares(1) + cat)[1][1] == 0
    with pytest.raises(IndexError):
        cat[5]
    parts = random_split(range(10), [0.5, 0.3, 0.2], generator=chainrule.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [5, 3, 2]
    assert sorted(sum((list(p) for p in parts), [])) == list(range(10))
    ref = tud.random_split(range(11), [0.34, 0.33, 0.33])
    assert [len(p) for p in random_split(range(11), [0.34, 0.33, 0.33])] == [len(p) for p in ref]
    g1, g2 = chainrule.Generator().manual_seed(4), chainrule.Generator().manual_seed(4)
    first, second = random_split(range(8), [4, 4], g1), random_split(range(8), [4, 4], g2)
    assert list(first[0]) == list(second[0])
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(range(10), [3, 3])


def test_random_sampler_generator_replacement_and_num_samples():
    def draw(seed, **kw):
        return list(RandomSampler(range(10), generator=chainrule.Generator().manual_seed(seed),
                                  **kw))

    chainrule.manual_seed(1)
    a = draw(5)
    chainrule.manual_seed(2)                       # the global seed plays no part
    assert draw(5) == a and draw(6) != a and sorted(a) == list(range(10))
    g = chainrule.Generator().manual_seed(5)
    s = RandomSampler(range(10), generator=g)
    assert list(s) == a and list(s) != a           # the generator advances: a new order per pass
    with_rep = draw(0, replacement=True, num_samples=200)
    counts = np.bincount(with_rep, minlength=10)
    assert len(with_rep) == 200 and counts.max() > 1 and (counts > 0).sum() == 10
    short = draw(0, replacement=True, num_samples=3)
    assert len(short) == 3 and set(short) <= set(range(10))
    chained = draw(3, num_samples=25)              # without replacement: whole permutations
    assert [sorted(chained[i:i + 10]) for i in (0, 10)] == [list(range(10))] * 2
    assert len(set(chained[20:])) == 5
    ref = torch.utils.data.RandomSampler(range(10), replacement=True, num_samples=7)
    assert len(RandomSampler(range(10), replacement=True, num_samples=7)) == len(ref) == 7
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=-2)


def test_weighted_sampler_matches_weights_and_is_seeded():
    w = [0.1, 0.0, 0.5, 0.4]

    def draw(seed, n=20000, **kw):
        return list(WeightedRandomSampler(w, n, generator=chainrule.Generator().manual_seed(seed),
                                          **kw))

    a = draw(3)
    assert a == draw(3) and a != draw(4)
    freq = np.bincount(a, minlength=4) / len(a)
    np.testing.assert_allclose(freq, w, atol=0.015)
    assert freq[1] == 0
    once = draw(0, n=3, replacement=False)
    assert sorted(once) == [0, 2, 3]               # each non-zero weight at most once
    t = WeightedRandomSampler(chainrule.tensor([1.0, 2.0]), 5)
    assert len(t) == 5 and set(t) <= {0, 1}
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler(w, 4, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)


def test_batch_sampler_and_sampler_arguments_match_torch():
    for n, bs, drop in ((11, 4, False), (11, 4, True), (8, 4, True), (3, 8, True)):
        ours = list(DataLoader(range(n), batch_size=bs, drop_last=drop))
        ref = list(tud.DataLoader(range(n), batch_size=bs, drop_last=drop))
        assert [b.tolist() for b in ours] == [b.tolist() for b in ref]
        assert len(DataLoader(range(n), batch_size=bs, drop_last=drop)) == len(ref)
    order = [4, 0, 3, 1, 2]
    by_sampler = DataLoader(Squares(5), batch_size=2, sampler=order)
    assert firsts(by_sampler) == [[4, 0], [3, 1], [2]]
    by_batches = DataLoader(Squares(5), batch_sampler=BatchSampler(order, 3, False))
    assert firsts(by_batches) == [[4, 0, 3], [1, 2]] and len(by_batches) == 2
    raw = DataLoader(Squares(4), batch_size=2, collate_fn=lambda b: [s[1] for s in b])
    assert list(raw) == [[0, 1], [4, 9]]


def test_default_collate_tensors_tuples_lists_and_dicts_match_torch():
    rng = np.random.default_rng(0)
    samples = [(chainrule.tensor(rng.normal(size=(2, 3)).astype(np.float32)), i,
                {"mask": chainrule.tensor([True, i % 2 == 0]), "pos": [i, 2.5 * i],
                 "arr": rng.integers(0, 9, (2,)).astype(np.int16)})
               for i in range(4)]
    ours = default_collate(samples)
    ref = tud.default_collate([(torch.from_numpy(x.numpy()), i,
                                {"mask": torch.from_numpy(d["mask"].numpy()), "pos": d["pos"],
                                 "arr": d["arr"]})
                               for x, i, d in samples])
    assert isinstance(ours, list) and isinstance(ref, list) and len(ours) == 3
    assert ours[0].shape == (4, 2, 3) and ours[0].dtype == chainrule.float32
    np.testing.assert_array_equal(ours[0].numpy(), ref[0].numpy())
    assert ours[1].tolist() == ref[1].tolist() and ours[1].dtype == chainrule.int64
    for key in ("mask", "arr"):
        np.testing.assert_array_equal(ours[2][key].numpy(), ref[2][key].numpy())
        assert str(ours[2][key].dtype).split(".")[-1] == str(ref[2][key].dtype).split(".")[-1]
    assert [p.tolist() for p in ours[2]["pos"]] == [p.tolist() for p in ref[2]["pos"]]
    assert ours[2]["pos"][1].dtype == chainrule.float64
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([chainrule.zeros(2), chainrule.zeros(3)])
    g = default_collate([chainrule.ones(2, requires_grad=True), chainrule.zeros(2)])
    assert g.requires_grad and g.shape == (2, 2)


def test_worker_prefetch_overlaps_compute_and_keeps_order():
    slow = Squares(12, delay=0.02)
    ref = firsts(DataLoader(slow, batch_size=3))
    loader = DataLoader(slow, batch_size=3, num_workers=2, prefetch_factor=2)
    start = time.perf_counter()
    got = []
    for batch in loader:                        # 60 ms of "compute" per batch
        time.sleep(0.06)
        got.append(batch[0].data[:, 0].astype(int).tolist())
    elapsed = time.perf_counter() - start
    assert got == ref
    # serially: 4 x (3 x 20 ms loading + 60 ms compute) = 480 ms; with prefetch the loading of
    # the next batches hides behind the compute
    assert elapsed < 0.45, elapsed
