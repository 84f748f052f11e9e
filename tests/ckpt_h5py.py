#!/usr/bin/python3
"""Reads a ferc checkpoint with h5py alone (no ferc code) and checks its layout.

usage: ckpt_h5py.py CHECKPOINT [train|export [TWIN]]

Prints the root attributes and every dataset with its shape, then asserts the
documented layout (src/ckpt.h), including the seal: a 512-byte user block
"ferc-checkpoint\nsize N\ncrc32 X\n" where X is zlib.crc32 of bytes [512, N). Exit status 0 when the layout holds; an
AssertionError names the first violation otherwise. The optional second
argument also checks the kind and whether /optim is present. With TWIN (the
same network saved as a float32 export), CHECKPOINT must be its float16
export: every /params and /buffers value bit for bit numpy's float16 rounding
of the twin's.
"""
import os
import sys
import zlib

import h5py
import numpy as np

HIST_COLUMNS = ["epoch", "lr", "train_loss", "train_acc", "val_loss",
                "val_acc", "test_loss", "test_acc", "seconds"]


def check_seal(path):
    """Verifies the user block written by ferc_ckpt_save / ferc_ckpt_seal."""
    with open(path, "rb") as fh:
        head = fh.read(512).split(b"\0", 1)[0].decode("ascii", "replace")
        crc = 0
        for block in iter(lambda: fh.read(1 << 20), b""):
            crc = zlib.crc32(block, crc)
    lines = head.split("\n")
    assert lines[0] == "ferc-checkpoint", lines
    size = int(lines[1].split()[1])
    want = int(lines[2].split()[1], 16)
    assert size == os.path.getsize(path), (size, os.path.getsize(path))
    assert crc == want, f"crc32 {crc:08x}, the header says {want:08x}"
    print(f"  seal: size {size}, crc32 {want:08x} ok")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[1]
    want_kind = argv[2] if len(argv) > 2 else None
    twin = argv[3] if len(argv) > 3 else None
    print(f"{path}:")
    check_seal(path)
    with h5py.File(path, "r") as f:
        assert f.userblock_size == 512, f.userblock_size
        for k in sorted(f.attrs):
            v = f.attrs[k]
            if k == "config":
                print(f"  @{k}: <{len(v)} chars of INI text>")
            else:
                print(f"  @{k}: {v!r}")
        datasets = []
        f.visititems(lambda name, obj: datasets.append((name, obj))
                     if isinstance(obj, h5py.Dataset) else None)
        for name, d in datasets:
            print(f"  /{name} {list(d.shape)} {d.dtype}")

        a = f.attrs
        assert a["format"] == "ferc-checkpoint", a["format"]
        assert isinstance(a["format"], str), type(a["format"])
        assert int(a["version"]) == 1, a["version"]
        assert a["kind"] in ("train", "export"), a["kind"]
        if want_kind:
            assert a["kind"] == want_kind, (a["kind"], want_kind)
        assert isinstance(a["config"], str) and a["config"].strip(), "config text is empty"
        classes = list(a["classes"])
        assert classes and all(isinstance(c, str) for c in classes), classes
        for k in ("input_size", "channels", "fold", "folds"):
            assert np.issubdtype(np.asarray(a[k]).dtype, np.integer), (k, a[k])
        assert np.asarray(a["seed"]).dtype == np.uint64, a["seed"].dtype
        for k in ("mean", "std"):
            assert np.asarray(a[k]).dtype == np.float32, (k, a[k])
        assert isinstance(a["created"], str), a["created"]

        assert isinstance(f["params"], h5py.Group) and isinstance(f["buffers"], h5py.Group)
        # exports may store params and buffers as float16 (FERC_CKPT_HALF)
        wdt = np.dtype(np.float16) if a["kind"] == "export" and \
            f["params/conv1_1/kernel"].dtype == np.float16 else np.dtype(np.float32)
        k = f["params/conv1_1/kernel"]
        assert k.ndim == 4 and k.dtype == wdt, (k.shape, k.dtype)
        assert k.shape[1] == int(a["channels"]), (k.shape, a["channels"])
        fcs = sorted(n for n, _ in datasets
                     if n.startswith("params/fc") and n.endswith("/kernel"))
        assert fcs, "no fc kernels"
        last = f[fcs[-1]]
        assert last.shape[0] == len(classes), (fcs[-1], last.shape, classes)
        for name, d in datasets:
            if name.startswith(("params/", "buffers/")):
                assert d.dtype == wdt, (name, d.dtype, wdt)
                assert np.all(np.isfinite(d[()])), name
            if name.startswith("optim/"):
                assert d.dtype == np.float32, (name, d.dtype)
                assert np.all(np.isfinite(d[()])), name

        if a["kind"] == "export":
            assert "optim" not in f, "an export has no /optim"
        if "optim" in f:
            o = f["optim"]
            assert int(o.attrs["kind"]) in (0, 1, 2), o.attrs["kind"]
            assert int(o.attrs["t"]) >= 0, o.attrs["t"]
            for name, d in datasets:
                if name.startswith("params/"):
                    m = o["m"][name[len("params/"):]]
                    assert m.shape == d.shape, (name, m.shape, d.shape)
        if "history" in f:
            h = f["history"]
            assert h.ndim == 2 and h.shape[1] == len(HIST_COLUMNS), h.shape
            assert list(h.attrs["columns"]) == HIST_COLUMNS, h.attrs["columns"]
            assert h.dtype == np.float32, h.dtype
        if twin:
            assert wdt == np.float16, "TWIN given but the weights are not float16"
            n = 0
            with h5py.File(twin, "r") as t:
                for name, d in datasets:
                    if name.startswith(("params/", "buffers/")):
                        ref = t[name][()]
                        assert ref.dtype == np.float32, (twin, name, ref.dtype)
                        want = ref.astype(np.float16).view(np.uint16)
                        got = d[()].view(np.uint16)
                        assert np.array_equal(got, want), \
                            (name, int((got != want).sum()), "values differ from numpy's rounding")
                        n += ref.size
            print(f"  {n} values: numpy's float16 rounding of {twin}")
    print(f"{path}: layout ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
