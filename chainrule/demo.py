"""A small end-to-end demo of backpropagation on generated data (two interleaved spirals)."""
import numpy as np

import chainrule as cr


def spirals(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.random(n)) * 3 * np.pi
    cls = rng.integers(0, 2, n)
    r = t / (3 * np.pi)
    angle = t + np.pi * cls
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1) + rng.normal(0, 0.02, (n, 2))
    return x.astype(np.float32), cls.astype(np.float32)


def train_demo(steps=300, seed=0, lr=0.5, hidden=32, log=print):
    """Train a 2-32-32-1 tanh network with plain gradient descent; return the loss history."""
    cr.manual_seed(seed)
    x_np, y_np = spirals(seed=seed)
    x, y = cr.tensor(x_np), cr.tensor(y_np).reshape(-1, 1)
    sizes = [2, hidden, hidden, 1]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append((cr.rand(fan_in, fan_out) * 2 - 1) * bound * np.sqrt(3))
        params.append(cr.zeros(fan_out))
    for p in params:
        p.requires_grad_(True)
    history = []
    for step in range(steps):
        h = x
        for i in range(0, len(params) - 2, 2):
            h = cr.tanh(h @ params[i] + params[i + 1])
        logits = h @ params[-2] + params[-1]
        # binary cross-entropy with logits, written out: softplus(z) - y z
        loss = (cr.relu(logits) - logits * y + cr.log(1 + cr.exp(-cr.abs(logits)))).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with cr.no_grad():
            for p in params:
                p -= lr * p.grad
        history.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            acc = ((logits.detach() > 0).float() == y).float().mean().item()
            log(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    return history
