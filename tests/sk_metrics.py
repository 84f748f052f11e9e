#!/usr/bin/python3
"""sk_metrics.py: ferc's metrics against scikit-learn on the same predictions.

  sk_metrics.py --scorer BUILD/tests/test_metrics
      random and edge-case predictions (a class absent from the data, a class
      never predicted, all right, two classes) scored by ferc (test_metrics
      --score) and by scikit-learn
  sk_metrics.py --csv PRED.csv --json SUMMARY.json
      the per-image predictions ./eval wrote (--csv) rescored by scikit-learn
      and compared with ./eval's own summary (--json)

Compared: confusion matrix (exact), accuracy, balanced accuracy, per-class
precision / recall / F1, macro-F1 and top-2 accuracy (exact up to 1e-12;
the largest difference is printed). ferc's macro averages run over the
classes present in the data, i.e. f1_score(labels=present, average="macro");
recall and F1 of a class absent from the data are null in ferc.
Exit 0 all agree, 1 a difference, 77 scikit-learn is not installed (skip).
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix,
                                 f1_score, precision_recall_fscore_support, top_k_accuracy_score)
except ImportError as exc:  # pragma: no cover
    print(f"sk_metrics: skipped: scikit-learn not available ({exc}); install python3-sklearn")
    sys.exit(77)

TOL = 1e-12
# "y_pred contains classes not in y_true": expected in the absent-class cases
warnings.filterwarnings("ignore", category=UserWarning)


class Cmp:
    def __init__(self, name):
        self.name, self.bad, self.maxdiff, self.n = name, [], 0.0, 0

    def num(self, what, ours, ref):
        self.n += 1
        if ours is None or ref is None or not np.isfinite(ref):
            if not (ours is None and (ref is None or not np.isfinite(ref))):
                self.bad.append(f"{what}: ferc {ours}, sklearn {ref}")
            return
        d = abs(float(ours) - float(ref))
        self.maxdiff = max(self.maxdiff, d)
        if d > TOL:
            self.bad.append(f"{what}: ferc {ours!r}, sklearn {ref!r} (diff {d:.3g})")

    def exact(self, what, ours, ref):
        self.n += 1
        if np.asarray(ours).tolist() != np.asarray(ref).tolist():
            self.bad.append(f"{what}: ferc {ours}, sklearn {np.asarray(ref).tolist()}")

    def done(self):
        status = "ok  " if not self.bad else "FAIL"
        print(f"{status} {self.name}: {self.n} values, max |diff| {self.maxdiff:.3g}")
        for b in self.bad[:10]:
            print("     " + b)
        return not self.bad


def reference(y, p, probs, k):
    """scikit-learn's figures for labels 0..k-1."""
    labels = list(range(k))
    present = sorted(set(int(v) for v in y))
    prec, rec, f1, sup = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    ref = {
        "confusion": confusion_matrix(y, p, labels=labels),
        "accuracy": accuracy_score(y, p),
        "balanced_accuracy": balanced_accuracy_score(y, p),
        "macro_f1": f1_score(y, p, labels=present, average="macro", zero_division=0),
        "precision": prec,
        "recall": [r if s > 0 else None for r, s in zip(rec, sup)],
        "f1": [f if s > 0 else None for f, s in zip(f1, sup)],
        "top2": None,
    }
    if probs is not None and k > 2:
        ref["top2"] = top_k_accuracy_score(y, probs, k=2, labels=labels)
    return ref


def compare(name, ours, ref, k):
    c = Cmp(name)
    c.exact("confusion", ours["confusion"], ref["confusion"])
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        c.num(key, ours[key], ref[key])
    if ref["top2"] is not None:
        c.num("top2", ours["top2"], ref["top2"])
    for key in ("precision", "recall", "f1"):
        for j in range(k):
            c.num(f"{key}[{j}]", ours[key][j], ref[key][j])
    return c.done()


def cases():
    rng = np.random.RandomState(20240611)
    out = []
    # 1: seven classes, unbalanced, 60% right, random probabilities with the prediction on top
    k, n = 7, 997
    y = rng.choice(k, n, p=[.25, .05, .2, .1, .2, .12, .08])
    p = np.where(rng.rand(n) < 0.6, y, rng.randint(0, k, n))
    out.append(("seven_classes", k, y, p))
    # 2: class 4 never in the data (but predicted), class 2 never predicted
    k, n = 5, 300
    y = rng.choice([0, 1, 2, 3], n)
    p = np.where(rng.rand(n) < 0.5, y, rng.choice([0, 1, 3, 4], n))
    p[p == 2] = 3
    out.append(("absent_and_unpredicted", k, y, p))
    # 3: tiny, all right
    y = np.array([0, 1, 2, 2, 1, 0])
    out.append(("all_right", 3, y, y.copy()))
    # 4: two classes
    y = rng.randint(0, 2, 50)
    out.append(("two_classes", 2, y, np.where(rng.rand(50) < 0.7, y, 1 - y)))
    res = []
    for name, k, y, p in out:
        probs = rng.rand(len(y), k).astype(np.float32)
        probs[np.arange(len(y)), p] += 1.0  # the predicted class is the most probable
        probs /= probs.sum(axis=1, keepdims=True)
        res.append((name, k, y, p, probs))
    return res


def run_scorer(scorer):
    ok = True
    for name, k, y, p, probs in cases():
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(f"{k}\n")
            for t, q, pr in zip(y, p, probs):
                f.write(f"{t} {q} " + " ".join(repr(float(v)) for v in pr) + "\n")
            path = f.name
        try:
            out = subprocess.run([scorer, "--score", path], check=True, capture_output=True, text=True).stdout
        finally:
            os.unlink(path)
        ours = json.loads(out)
        ok &= compare(name, ours, reference(y, p, probs.astype(np.float64), k), k)
    return ok


def run_eval_outputs(csv_path, json_path):
    with open(json_path) as f:
        js = json.load(f)
    classes = js["classes"]
    k = len(classes)
    idx = {c: i for i, c in enumerate(classes)}
    y, p, probs = [], [], []
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            y.append(idx[row["true"]])
            p.append(idx[row["predicted"]])
            probs.append([float(row["p_" + c]) for c in classes])
    y, p, probs = np.array(y), np.array(p), np.array(probs, dtype=np.float32)
    ours = {
        "confusion": js["confusion"],
        "accuracy": js["accuracy"],
        "balanced_accuracy": js["balanced_accuracy"],
        "macro_f1": js["macro_f1"],
        "top2": js["top2_accuracy"],
        "precision": [js["per_class"][c]["precision"] for c in classes],
        "recall": [js["per_class"][c]["recall"] for c in classes],
        "f1": [js["per_class"][c]["f1"] for c in classes],
    }
    if js["n"] != len(y):
        print(f"FAIL eval_outputs: JSON n {js['n']}, CSV rows {len(y)}")
        return False
    return compare(f"eval_outputs ({len(y)} predictions, {k} classes)", ours,
                   reference(y, p, probs.astype(np.float64), k), k)


def main(argv):
    if len(argv) == 3 and argv[1] == "--scorer":
        ok = run_scorer(argv[2])
    elif len(argv) == 5 and argv[1] == "--csv" and argv[3] == "--json":
        ok = run_eval_outputs(argv[2], argv[4])
    else:
        print(__doc__)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
