"""L-BFGS: a limited-memory quasi-Newton method, optionally with a strong-Wolfe line search."""
from .._backend import xp_of
from ..autograd import grad_mode
from ..tensor import Tensor
from .optimizer import Optimizer, _bump, _check_lr, _value

__all__ = ["LBFGS"]


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds``."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = d2_square ** 0.5
    if x1 <= x2:
        pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(pos, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Find a step ``t`` along ``d`` meeting the strong Wolfe conditions (Nocedal & Wright,
    algorithms 3.5 and 3.6). ``evaluate(t)`` returns (loss, flat grad) at ``x + t d``.

    Returns (loss, flat grad, t, number of evaluations).
    """
    dot = xp_of(d).dot
    d_norm = float(abs(d).max())
    f_new, g_new = evaluate(t)
    evals, ls_iter = 1, 0
    gtd_new = float(dot(g_new, d))
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g.copy(), gtd
    done = False
    # bracketing phase: grow t until the interval [t_prev, t] holds an acceptable step
    while ls_iter < max_ls:
        sufficient = not (f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev))
        if sufficient and abs(gtd_new) <= -c2 * gtd:
            br, br_f, br_g, done = [t], [f_new], [g_new], True
            break
        if not sufficient or gtd_new >= 0:
            br, br_f, br_g, br_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], \
                [gtd_prev, gtd_new]
            break
        t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                            bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals, ls_iter = evals + 1, ls_iter + 1
        gtd_new = float(dot(g_new, d))
    if ls_iter == max_ls:
        br, br_f, br_g = [0, t], [f, f_new], [g, g_new]
    # zoom phase: shrink the bracket around a step meeting both conditions
    insufficient = False
    low, high = (0, 1) if br_f[0] <= br_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(br[1] - br[0]) * d_norm < tolerance_change:
            break
        t = _cubic_min(br[0], br_f[0], br_gtd[0], br[1], br_f[1], br_gtd[1])
        # keep away from the bracket's ends, unless progress stalls twice
        eps = 0.1 * (max(br) - min(br))
        if min(max(br) - t, t - min(br)) < eps:
            if insufficient or t >= max(br) or t <= min(br):
                t = max(br) - eps if abs(t - max(br)) < abs(t - min(br)) else min(br) + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals, ls_iter = evals + 1, ls_iter + 1
        gtd_new = float(dot(g_new, d))
        if f_new > f + c1 * t * gtd or f_new >= br_f[low]:
            br[high], br_f[high], br_g[high], br_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if br_f[0] <= br_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br[high] - br[low]) >= 0:
                br[high], br_f[high], br_g[high], br_gtd[high] = \
                    br[low], br_f[low], br_g[low], br_gtd[low]
            br[low], br_f[low], br_g[low], br_gtd[low] = t, f_new, g_new, gtd_new
    return br_f[low], br_g[low], br[low], evals


class LBFGS(Optimizer):
    """L-BFGS (Liu & Nocedal, 1989), with torch's stopping rules and optional line search.

    ``step(closure)`` runs up to ``max_iter`` iterations, each re-evaluating the closure. With
    flat gradient ``g_k`` and the last ``m = history_size`` pairs ``s_i = x_{i+1} - x_i``,
    ``y_i = g_{i+1} - g_i`` (kept only when ``y_i . s_i > 1e-10``)::

        q = -g_k
        for i = newest .. oldest:  a_i = (s_i . q) / (y_i . s_i);  q = q - a_i y_i
        r = q * (y . s) / (y . y)                      (newest pair: the initial Hessian scale)
        for i = oldest .. newest:  b = (y_i . r) / (y_i . s_i);     r = r + (a_i - b) s_i
        d = r                                          (d = -g_k on the first iteration)
        t = lr * min(1, 1 / |g_k|_1) on the first iteration, else lr
        (line_search_fn="strong_wolfe": t satisfying the strong Wolfe conditions)
        x = x + t d

    It stops when ``max|g| <= tolerance_grad``, the step or the loss change falls below
    ``tolerance_change``, ``g . d > -tolerance_change``, or ``max_eval`` evaluations are spent.

    Args:
        params: the tensors to optimize (one group only).
        lr (float): the step length (default 1).
        max_iter (int): iterations per ``step`` (default 20).
        max_eval (int): closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad (float): first-order optimality tolerance (default 1e-7).
        tolerance_change (float): tolerance on step and loss changes (default 1e-9).
        history_size (int): the number of pairs kept (default 100).
        line_search_fn (str): None or ``"strong_wolfe"``.

    Example::

        >>> opt = chainrule.optim.LBFGS([x], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = f(x)
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self):
        xp = self._params[0]._xp()
        return xp.concatenate([xp.zeros(p.data.size, p.data.dtype) if p.grad is None
                               else p.grad.data.reshape(-1) for p in self._params])

    def _add(self, t, d):
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += d[offset:offset + n].reshape(p.data.shape) * t
            offset += n
            _bump(p)

    def _evaluate(self, closure):
        with grad_mode.enable_grad():
            loss = closure()
        return loss, self._flat_grad()

    def step(self, closure):
        """Run up to ``max_iter`` iterations; return the loss of the first closure call.

        Args:
            closure (callable): re-evaluates the model, calls backward and returns the loss.
        """
        group = self.param_groups[0]
        lr = _value(group["lr"])
        tol_change, history_size = group["tolerance_change"], group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss, g = self._evaluate(closure)
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        if abs(g).max() <= group["tolerance_grad"]:
            return orig_loss
        dot = xp_of(g).dot
        d, t = _raw(state.get("d")), state.get("t")
        old_dirs = [_raw(v) for v in state.get("old_dirs", [])]
        old_stps = [_raw(v) for v in state.get("old_stps", [])]
        ro, h_diag = list(state.get("ro", [])), state.get("H_diag")
        prev_g, prev_loss = _raw(state.get("prev_flat_grad")), state.get("prev_loss")
        n_iter = 0
        while n_iter < group["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, h_diag = -g, [], [], [], 1
            else:
                y, s = g - prev_g, d * t
                ys = float(dot(y, s))
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(dot(y, y))
                al = [0.0] * len(old_dirs)
                q = -g
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = float(dot(old_stps[i], q)) * ro[i]
                    q -= old_dirs[i] * al[i]
                d = r = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = float(dot(old_dirs[i], r)) * ro[i]
                    r += old_stps[i] * (al[i] - be_i)
            prev_g, prev_loss = g.copy(), loss
            t = min(1.0, 1.0 / float(abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(dot(g, d))
            if gtd > -tol_change:
                break
            ls_evals = 0
            if group["line_search_fn"] is not None:
                if group["line_search_fn"] != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = [p.data.copy() for p in self._params]

                def evaluate(step_t):
                    self._add(step_t, d)
                    out_loss, out_g = self._evaluate(closure)
                    for p, x in zip(self._params, x0):
                        p.data[...] = x
                    return float(out_loss), out_g

                loss, g, t, ls_evals = _strong_wolfe(evaluate, t, d, loss, g, gtd,
                                                     max_ls=group["max_eval"] - evals)
                self._add(t, d)
            else:
                self._add(t, d)
                if n_iter != group["max_iter"]:
                    out_loss, g = self._evaluate(closure)
                    loss, ls_evals = float(out_loss), 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == group["max_iter"] or evals >= group["max_eval"]:
                break
            if abs(g).max() <= group["tolerance_grad"]:
                break
            if abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        state.update(d=Tensor._make(d), t=t, old_dirs=[Tensor._make(v) for v in old_dirs],
                     old_stps=[Tensor._make(v) for v in old_stps], ro=ro, H_diag=h_diag,
                     prev_flat_grad=Tensor._make(prev_g), prev_loss=prev_loss)
        return orig_loss


def _raw(value):
    return value.data if isinstance(value, Tensor) else value
