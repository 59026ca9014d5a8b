"""The classic 1986 backpropagation experiments, end to end: XOR with two hidden units, the 8-3-8
encoder, and a small CNN telling two image classes apart.

Each network is trained by chainrule from a seeded initialisation; the XOR and encoder runs are
repeated in torch from the same weights with the same updates (float64), and the trajectories
must agree, so these tests prove both that backpropagation learns and that it learns exactly as
torch does.
"""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny networks: torch's thread pool only adds contention on a shared two-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _twin(c_module):
    """A torch copy of a chainrule ``Sequential`` of Linear/Sigmoid/ReLU layers (same weights)."""
    layers = []
    for layer in c_module:
        if isinstance(layer, nn.Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.weight.detach().numpy()))
                t.bias.copy_(torch.from_numpy(layer.bias.detach().numpy()))
            layers.append(t)
        else:
            layers.append(getattr(torch.nn, type(layer).__name__)())
    return torch.nn.Sequential(*layers)


# ---------------------------------------------------------------- XOR, 2-2-1
XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_Y = [[0.0], [1.0], [1.0], [0.0]]


def _train_xor(lib, net, steps):
    x = lib.tensor(XOR_X, dtype=lib.float64)
    y = lib.tensor(XOR_Y, dtype=lib.float64)
    opt = lib.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).sum() / 2          # the 1986 paper's error measure
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return net(x).detach().numpy().ravel(), np.array(losses)


@pytest.mark.parametrize("seed", [0])
def test_xor_with_two_hidden_units(seed):
    cr.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()).double()
    assert sum(p.numel() for p in net.parameters()) == 9      # two hidden units, nine weights
    t_net = _twin(net)
    out, losses = _train_xor(cr, net, 1500)
    t_out, t_losses = _train_xor(torch, t_net, 1500)

    assert losses[0] > 0.4 and losses[-1] < 1e-3, (losses[0], losses[-1])
    np.testing.assert_array_equal(out > 0.5, [False, True, True, False])
    assert np.abs(out - np.array(XOR_Y).ravel()).max() < 0.05, out
    np.testing.assert_allclose(losses, t_losses, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(out, t_out, rtol=1e-7)
    for p, q in zip(net.parameters(), t_net.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- the 8-3-8 encoder
def _train_encoder(lib, enc, dec, steps):
    x = lib.eye(8, dtype=lib.float64)
    target = lib.arange(8)
    opt = lib.optim.SGD(list(enc.parameters()) + list(dec.parameters()), lr=0.5, momentum=0.9)
    f = F if lib is cr else torch.nn.functional
    for _ in range(steps):
        opt.zero_grad()
        loss = f.cross_entropy(dec(enc(x)), target)
        loss.backward()
        opt.step()
    codes = enc(x).detach().numpy()
    return codes, dec(enc(x)).detach().numpy(), loss.item()


@pytest.mark.parametrize("seed", [0])
def test_8_3_8_encoder_learns_a_distinct_code_per_input(seed):
    cr.manual_seed(seed)
    enc = nn.Sequential(nn.Linear(8, 3), nn.Sigmoid()).double()
    dec = nn.Sequential(nn.Linear(3, 8)).double()
    t_enc, t_dec = _twin(enc), _twin(dec)
    codes, logits, loss = _train_encoder(cr, enc, dec, 2000)
    t_codes, t_logits, t_loss = _train_encoder(torch, t_enc, t_dec, 2000)

    assert loss < 0.01, loss
    np.testing.assert_array_equal(logits.argmax(1), np.arange(8))      # every input reproduced
    bits = codes > 0.5
    assert len({tuple(b) for b in bits}) == 8, bits.astype(int)        # 8 distinct 3-bit codes
    np.testing.assert_allclose(codes, t_codes, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(loss, t_loss, rtol=1e-5)


# ---------------------------------------------------------------- a small CNN, two classes
def _two_class_fashion(train, per_class):
    from chainrule.datasets import FashionMNIST
    ds = FashionMNIST(train=train)
    images = ds.data.numpy()
    labels = ds.targets.numpy()
    picked = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in (0, 9)])
    x = (images[picked].astype(np.float32) / 255.0)[:, None]         # (N, 1, 28, 28)
    y = (labels[picked] == 9).astype(np.int64)                        # T-shirt 0, ankle boot 1
    return x, y


def test_small_cnn_tells_two_image_classes_apart():
    x, y = _two_class_fashion(True, 300)
    xt, yt = _two_class_fashion(False, 100)
    cr.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 5, stride=2), nn.ReLU(), nn.MaxPool2d(2),       # (4, 6, 6)
        nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 2))
    opt = cr.optim.Adam(net.parameters(), lr=0.01)
    order = np.random.default_rng(0).permutation(len(y))
    first = None
    for start in range(0, len(y), 30):
        idx = order[start:start + 30]
        opt.zero_grad()
        loss = F.cross_entropy(net(cr.tensor(x[idx])), cr.tensor(y[idx]))
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    net.eval()
    with cr.no_grad():
        accuracy = (net(cr.tensor(xt)).argmax(1).numpy() == yt).mean()
    assert first > 0.5 and loss.item() < 0.2, (first, loss.item())
    assert accuracy >= 0.95, accuracy


def test_small_cnn_training_steps_match_torch():
    x, y = _two_class_fashion(True, 40)
    cr.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 3, 5, stride=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(3 * 6 * 6, 2))
    t_net = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 5, stride=2), torch.nn.ReLU(),
                                torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(3 * 6 * 6, 2))
    t_net.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                           for k, v in net.state_dict().items()})
    opt = cr.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    t_opt = torch.optim.SGD(t_net.parameters(), lr=0.1, momentum=0.9)
    for start in range(0, len(y), 16):
        xb, yb = x[start:start + 16], y[start:start + 16]
        opt.zero_grad()
        t_opt.zero_grad()
        loss = F.cross_entropy(net(cr.tensor(xb)), cr.tensor(yb))
        t_loss = torch.nn.functional.cross_entropy(t_net(torch.tensor(xb)), torch.tensor(yb))
        loss.backward()
        t_loss.backward()
        opt.step()
        t_opt.step()
        np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-4)
    for (k, p), (_, q) in zip(net.named_parameters(), t_net.named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-3,
                                   atol=1e-5, err_msg=k)
