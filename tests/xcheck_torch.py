#!/usr/bin/python3
"""Cross-checks ferc against PyTorch on the same weights (driven by tests/test_xcheck.c).

usage: xcheck_torch.py CHECKPOINT DATA

CHECKPOINT is a ferc HDF5 checkpoint (ferc_ckpt_save); DATA is the HDF5 file
test_xcheck.c writes with ferc's results:
  /input [B,C,H,W] f32, /labels [B] i32, /class_weights [K] f32
  root attributes: smoothing, steps, sgd_lr, sgd_momentum, sgd_nesterov,
    sgd_wd, adamw_lr, adamw_beta1, adamw_beta2, adamw_eps, adamw_wd
  /eval/{logits,loss,dlogits}, /eval/grad/<tensor>          inference mode
  /train/{logits,loss,dlogits}, /train/grad/<tensor>,
  /train/buffers/<tensor>                                    one training forward+backward
  /sgd/{loss}, /sgd/params/<tensor>, /sgd/buffers/<tensor>   after `steps` SGD steps
  /adamw/{loss}, /adamw/params/<tensor>, /adamw/buffers/<tensor>

The reference is independent of ferc: the model is torch.nn (Conv2d(3x3, pad
1) -> BatchNorm2d -> ReLU per conv, MaxPool2d(2) per block, Linear -> ReLU per
hidden FC, Linear classifier), with PyTorch's own BatchNorm defaults (eps
1e-5, momentum 0.1), built from the tensor names and shapes in /params and
loaded with h5py alone; it runs in float64. Optimisers are torch.optim.SGD and
torch.optim.AdamW with two parameter groups: kernels get weight decay, biases
and BN gamma/beta none (ferc's documented rule, decided here by name).

The loss is ferc's (src/loss.c), written out in torch (see ferc_loss): with
both class weights and label smoothing torch's CrossEntropyLoss is a
different function. In the AdamW case both sides zero the conv-bias
gradients before each step (see train_steps).

Tolerances (ferc computes in float32, the reference in float64):
  logits, loss, dlogits, gradients, running stats:
      max|ferc - ref| <= RTOL * scale + ATOL per tensor, scale = max|ref|
      (for a gradient, the max over its layer's gradients; see check_pass)
  parameters after optimiser steps: the same test on the update p - p0, with
      slack for float32 rounding of the stored parameters (ULP_SLACK ulps of
      max|p|): p - p0 is what the optimiser contributes, so decay applied to
      the wrong tensors or a wrong momentum rule cannot hide below |p|.
  near misses: the same data against plausible wrong rules (classic instead
      of Nesterov momentum, Adam-L2 instead of AdamW, decay on every tensor or
      none, torch's weighted+smoothed CrossEntropyLoss) must fail, so the
      tolerances are shown to be tight enough to tell them apart.
Every tensor's max difference and tolerance is printed. Exit status: 0 when
everything matches, 3 when a tensor differs beyond its tolerance (its line
ends in MISMATCH) or a near miss is not told apart, 2 on bad usage or
unreadable files (an uncaught exception exits 1).
"""
import re
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

RTOL = 2e-5
ATOL = 1e-7
ULP_SLACK = 8 * np.finfo(np.float32).eps

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)


class Model(torch.nn.Module):
    """The VGG-style net described by a ferc checkpoint's tensor table."""

    def __init__(self, params):
        super().__init__()
        convs = sorted((int(m.group(1)), int(m.group(2)))
                       for m in (re.fullmatch(r"conv(\d+)_(\d+)", n) for n in params) if m)
        fcs = sorted(int(m.group(1)) for m in (re.fullmatch(r"fc(\d+)", n) for n in params) if m)
        assert convs and fcs, f"no conv or fc layers in {sorted(params)}"
        self.layers = []     # (ferc layer name, module)
        seq = []
        blocks = sorted({b for b, _ in convs})
        assert blocks == list(range(1, len(blocks) + 1)), blocks
        for b in blocks:
            idx = sorted(i for bb, i in convs if bb == b)
            assert idx == list(range(1, len(idx) + 1)), (b, idx)
            for i in idx:
                k = params[f"conv{b}_{i}"]["kernel"]
                out_c, in_c, kh, kw = k.shape
                assert (kh, kw) == (3, 3), k.shape
                conv = torch.nn.Conv2d(in_c, out_c, 3, stride=1, padding=1)
                bn = torch.nn.BatchNorm2d(out_c)   # PyTorch defaults: eps 1e-5, momentum 0.1
                self.layers += [(f"conv{b}_{i}", conv), (f"bn{b}_{i}", bn)]
                seq += [conv, bn, torch.nn.ReLU()]
            seq.append(torch.nn.MaxPool2d(2))
        seq.append(torch.nn.Flatten())
        assert fcs == list(range(1, len(fcs) + 1)), fcs
        for j in fcs:
            out_f, in_f = params[f"fc{j}"]["kernel"].shape
            fc = torch.nn.Linear(in_f, out_f)
            self.layers.append((f"fc{j}", fc))
            seq.append(fc)
            if j != fcs[-1]:
                seq.append(torch.nn.ReLU())   # ferc's dropout is 0 here: masks cannot be matched
        self.net = torch.nn.Sequential(*seq)   # registers every module in self.layers

    def forward(self, x):
        return self.net(x)

    def named_tensors(self):
        """(ferc tensor name, learnable torch tensor, decays) for every parameter."""
        out = []
        for name, m in self.layers:
            if isinstance(m, torch.nn.BatchNorm2d):
                out += [(f"{name}/gamma", m.weight, False), (f"{name}/beta", m.bias, False)]
            else:
                out += [(f"{name}/kernel", m.weight, True), (f"{name}/bias", m.bias, False)]
        return out

    def named_buffers_ferc(self):
        out = []
        for name, m in self.layers:
            if isinstance(m, torch.nn.BatchNorm2d):
                out += [(f"{name}/running_mean", m.running_mean),
                        (f"{name}/running_var", m.running_var)]
        return out


def read_group(g):
    """{layer: {what: ndarray}} from /params or /buffers."""
    out = {}
    for layer in g:
        for what in g[layer]:
            out.setdefault(layer, {})[what] = np.asarray(g[layer][what][()], dtype=np.float64)
    return out


def load_model(ckpt):
    with h5py.File(ckpt, "r") as f:
        params, buffers = read_group(f["params"]), read_group(f["buffers"])
    model = Model(params)
    seen = set()
    with torch.no_grad():
        for name, t, _ in model.named_tensors():
            layer, what = name.split("/")
            src = params[layer][what]
            assert tuple(src.shape) == tuple(t.shape), (name, src.shape, tuple(t.shape))
            t.copy_(torch.from_numpy(src))
            seen.add(("params", name))
        for name, t in model.named_buffers_ferc():
            layer, what = name.split("/")
            src = buffers[layer][what]
            assert tuple(src.shape) == tuple(t.shape), (name, src.shape, tuple(t.shape))
            t.copy_(torch.from_numpy(src))
            seen.add(("buffers", name))
    every = {("params", f"{l}/{w}") for l in params for w in params[l]}
    every |= {("buffers", f"{l}/{w}") for l in buffers for w in buffers[l]}
    assert every == seen, f"checkpoint tensors the model does not use: {sorted(every - seen)}"
    return model


def ferc_loss(logits, labels, class_w, smoothing):
    """ferc's loss (src/loss.c), written out from log_softmax:
        q = (1-s) onehot(y) + s/K,  CE_i = -sum_k q_k log p_k,
        loss = sum_i w_{y_i} CE_i / sum_i w_{y_i}.
    torch's CrossEntropyLoss(weight=w, label_smoothing=s) is a different loss:
    it weights the smoothing term of class k by w_k (not by w_{y_i}), so the
    two agree only when w is uniform or s is 0 (checked in check_loss_formula)."""
    K = logits.shape[1]
    lp = F.log_softmax(logits, dim=1)
    q = torch.full_like(lp, smoothing / K)
    q[torch.arange(len(labels)), labels] += 1.0 - smoothing
    ce = -(q * lp).sum(dim=1)
    w = class_w[labels]
    return (w * ce).sum() / w.sum()


class Report:
    def __init__(self):
        self.bad = []
        self.worst = 0.0   # largest err / tol

    @staticmethod
    def measure(got, ref, base=None, scale=None):
        """(max|got - ref|, scale, tolerance, diff/tolerance): the tolerance is
        RTOL*scale + ATOL with scale max|ref| (raised to `scale` when given);
        with base, the test is on the updates got-base and ref-base (see the
        module docstring)."""
        got = np.asarray(got, dtype=np.float64)
        ref = np.asarray(ref, dtype=np.float64)
        err = float(np.max(np.abs(got - ref))) if got.size else 0.0
        if not np.all(np.isfinite(got)):
            err = np.inf
        if base is None:
            scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, scale or 0.0)
            tol = RTOL * scale + ATOL
        else:
            base = np.asarray(base, dtype=np.float64)
            scale = float(np.max(np.abs(ref - base)))
            tol = RTOL * scale + ATOL + ULP_SLACK * float(np.max(np.abs(ref)))
        return err, scale, tol, err / tol

    def check(self, what, got, ref, base=None, scale=None):
        got, ref = np.asarray(got), np.asarray(ref)
        if got.shape != ref.shape:
            self.bad.append(what)
            print(f"  {what:34s} shape {got.shape} != reference {ref.shape}  MISMATCH")
            return
        err, scale, tol, ratio = self.measure(got, ref, base, scale)
        ok = ratio <= 1.0
        self.worst = max(self.worst, ratio)
        print(f"  {what:34s} max diff {err:9.3e}  {'max|dp|' if base is not None else 'scale'} {scale:9.3e}"
              f"  tol {tol:9.3e}{'' if ok else '  MISMATCH'}")
        if not ok:
            self.bad.append(what)


def run_case(model, x, y, w, smoothing, training):
    model.train(training)
    model.zero_grad(set_to_none=True)
    logits = model(x)
    logits.retain_grad()
    loss = ferc_loss(logits, y, w, smoothing)
    loss.backward()
    return logits, loss


def check_pass(rep, d, group, model, logits, loss, buffers):
    rep.check(f"{group}/logits", d[f"{group}/logits"][()], logits.detach().numpy())
    rep.check(f"{group}/loss", d[f"{group}/loss"][()], loss.item())
    rep.check(f"{group}/dlogits", d[f"{group}/dlogits"][()], logits.grad.numpy())
    # A gradient's scale is that of its layer: a conv bias feeding training-mode
    # BN has an exactly zero gradient (BN removes any per-channel constant), and
    # float32 leaves rounding noise there at the precision of the layer's
    # other gradient (the kernel's), built from the same dy.
    layer_scale = {}
    for name, t, _ in model.named_tensors():
        layer = name.split("/")[0]
        layer_scale[layer] = max(layer_scale.get(layer, 0.0), float(t.grad.abs().max()))
    for name, t, _ in model.named_tensors():
        rep.check(f"{group}/grad/{name}", d[f"{group}/grad/{name}"][()], t.grad.numpy(),
                  scale=layer_scale[name.split("/")[0]])
    if buffers:
        for name, t in model.named_buffers_ferc():
            rep.check(f"{group}/buffers/{name}", d[f"{group}/buffers/{name}"][()], t.numpy())


def check_loss_formula(y, w, smoothing):
    """The explicit loss equals torch's own CrossEntropyLoss where they coincide."""
    z = torch.randn(len(y), len(w), generator=torch.Generator().manual_seed(1))
    a = ferc_loss(z, y, w, 0.0).item()
    b = F.cross_entropy(z, y, weight=w).item()
    c = ferc_loss(z, y, torch.ones_like(w), smoothing).item()
    d = F.cross_entropy(z, y, label_smoothing=smoothing).item()
    assert abs(a - b) <= 1e-12 * (1 + abs(b)), ("weighted loss", a, b)
    assert abs(c - d) <= 1e-12 * (1 + abs(d)), ("smoothed loss", c, d)


def kernels(name):
    """ferc's weight-decay rule: kernels decay; biases and BN gamma/beta do not."""
    return name.endswith("/kernel")


def every(name):
    return True


def nothing(name):
    return False


def train_steps(ckpt, x, y, w, smoothing, steps, make_opt, decays, zero_conv_bias):
    """`steps` optimiser steps from the checkpoint, with make_opt(decay params,
    no-decay params) and decays(name) choosing the groups. zero_conv_bias:
    conv-bias gradients (exactly zero in exact arithmetic, see check_pass) are
    set to 0 before each step, as test_xcheck.c does for ferc; Adam would
    otherwise turn float32 rounding noise of ~1e-7 into steps of about lr
    (m/sqrt(v) is the noise's sign), which moves the bias and the next BN's
    running mean but not the BN output, in ferc and in float32 PyTorch alike.
    Returns (losses, {name: params}, {name: buffers}, {name: initial params})."""
    model = load_model(ckpt)
    named = model.named_tensors()
    p0 = {name: t.detach().clone().numpy() for name, t, _ in named}
    opt = make_opt([t for n, t, _ in named if decays(n)], [t for n, t, _ in named if not decays(n)])
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        _, loss = run_case(model, x, y, w, smoothing, True)
        losses.append(loss.item())
        if zero_conv_bias:
            for name, t, _ in named:
                if name.startswith("conv") and name.endswith("/bias"):
                    assert float(t.grad.abs().max()) <= 1e-12, (name, float(t.grad.abs().max()))
                    t.grad.zero_()
        opt.step()
    params = {name: t.detach().numpy() for name, t, _ in named}
    buffers = {name: t.numpy() for name, t in model.named_buffers_ferc()}
    return np.array(losses), params, buffers, p0


def optimiser_case(rep, d, ckpt, group, x, y, w, smoothing, steps, make_opt, variants, zero_conv_bias=False):
    """Checks ferc's parameters after the optimiser steps against the reference
    (decay on kernels only, the rule test_xcheck.c documents for ferc), then
    against each near miss in variants {label: (make_opt, decays)}: ferc must
    differ from every one by more than the tolerance, or the tolerance could
    not tell the rule from the near miss."""
    args = (ckpt, x, y, w, smoothing, steps)
    losses, params, buffers, p0 = train_steps(*args, make_opt, kernels, zero_conv_bias)
    rep.check(f"{group}/loss", d[f"{group}/loss"][()], losses)
    for name in params:
        rep.check(f"{group}/params/{name}", d[f"{group}/params/{name}"][()], params[name], base=p0[name])
    for name in buffers:
        rep.check(f"{group}/buffers/{name}", d[f"{group}/buffers/{name}"][()], buffers[name])
    for label, (mk, decays) in variants.items():
        _, vp, _, _ = train_steps(*args, mk, decays, zero_conv_bias)
        worst, where = max((rep.measure(d[f"{group}/params/{n}"][()], vp[n], base=p0[n])[3], n) for n in vp)
        caught = worst > 1.0
        print(f"  near miss: {label:30s} worst diff/tol {worst:9.3g} ({where})"
              f"{'' if caught else '  NOT TOLD APART'}")
        if not caught:
            rep.bad.append(f"{group} vs {label}")


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ckpt, data = argv[1], argv[2]
    rep = Report()
    with h5py.File(data, "r") as d:
        a = d.attrs
        x = torch.from_numpy(np.asarray(d["input"][()], dtype=np.float64))
        y = torch.from_numpy(np.asarray(d["labels"][()], dtype=np.int64))
        w = torch.from_numpy(np.asarray(d["class_weights"][()], dtype=np.float64))
        s = float(a["smoothing"])
        steps = int(a["steps"])
        check_loss_formula(y, w, s)
        print(f"xcheck: batch {tuple(x.shape)}, {len(w)} classes, smoothing {s:g}, "
              f"RTOL {RTOL:g}, ATOL {ATOL:g}")

        print("inference mode (running statistics):")
        model = load_model(ckpt)
        logits, loss = run_case(model, x, y, w, s, False)
        check_pass(rep, d, "eval", model, logits, loss, False)

        print("training mode (batch statistics), one forward + backward:")
        model = load_model(ckpt)
        logits, loss = run_case(model, x, y, w, s, True)
        check_pass(rep, d, "train", model, logits, loss, True)
        builtin = F.cross_entropy(logits.detach(), y, weight=w, label_smoothing=s).item()
        ratio = rep.measure(d["train/loss"][()], builtin)[3]
        print(f"  near miss: {'torch CrossEntropyLoss(w, s)':30s} worst diff/tol {ratio:9.3g} (train/loss)"
              f"{'' if ratio > 1 else '  NOT TOLD APART'}")
        if ratio <= 1:
            rep.bad.append("train/loss vs CrossEntropyLoss")

        def sgd(nesterov):
            return lambda dec, nodec: torch.optim.SGD(
                [{"params": dec, "weight_decay": wd}, {"params": nodec, "weight_decay": 0.0}],
                lr=lr, momentum=mu, nesterov=nesterov)

        lr, mu, wd = float(a["sgd_lr"]), float(a["sgd_momentum"]), float(a["sgd_wd"])
        nest = bool(int(a["sgd_nesterov"]))
        print(f"SGD lr {lr:g} momentum {mu:g} nesterov {nest} weight decay {wd:g}, {steps} steps:")
        optimiser_case(rep, d, ckpt, "sgd", x, y, w, s, steps, sgd(nest), {
            "classic momentum" if nest else "Nesterov momentum": (sgd(not nest), kernels),
            "decay on biases and BN too": (sgd(nest), every),
            "no weight decay": (sgd(nest), nothing)})

        def adam(kind):
            return lambda dec, nodec: kind(
                [{"params": dec, "weight_decay": awd}, {"params": nodec, "weight_decay": 0.0}],
                lr=alr, betas=betas, eps=eps)

        alr, awd = float(a["adamw_lr"]), float(a["adamw_wd"])
        betas = (float(a["adamw_beta1"]), float(a["adamw_beta2"]))
        eps = float(a["adamw_eps"])
        print(f"AdamW lr {alr:g} betas ({betas[0]:g}, {betas[1]:g}) eps {eps:g} "
              f"weight decay {awd:g}, {steps} steps:")
        optimiser_case(rep, d, ckpt, "adamw", x, y, w, s, steps, adam(torch.optim.AdamW), {
            "Adam with L2 (coupled) decay": (adam(torch.optim.Adam), kernels),
            "decay on biases and BN too": (adam(torch.optim.AdamW), every),
            "no weight decay": (adam(torch.optim.AdamW), nothing)}, zero_conv_bias=True)

    print(f"worst max diff / tolerance: {rep.worst:.3g}")
    if rep.bad:
        print(f"xcheck: {len(rep.bad)} checks failed: {', '.join(rep.bad)}")
        return 3
    print("xcheck: ferc matches PyTorch")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as err:
        print(f"xcheck: {err}", file=sys.stderr)
        sys.exit(2)
