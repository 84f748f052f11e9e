#!/usr/bin/env python3
"""Peer benchmark: PyTorch training and inference throughput for the same
VGG16-BN layout ferc trains (48x48 grayscale, 13 conv 3x3 in blocks 2,2,3,3,3,
BN+ReLU, 2x2 max-pool per block, FC head with dropout).

Run with Debian's interpreter: /usr/bin/python3 bench/torch_vgg.py --width 64
Prints one line of key=value pairs for bench/run.sh to parse."""
import argparse, os, time, sys
import torch
import torch.nn as nn


def vgg(width, classes, fc, in_ch=1):
    widths = [width, width * 2, width * 4, width * 8, width * 8]
    blocks = [2, 2, 3, 3, 3]
    layers, c = [], in_ch
    for w, n in zip(widths, blocks):
        for _ in range(n):
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            c = w
        layers.append(nn.MaxPool2d(2))
    head = [nn.Flatten(), nn.Linear(c, fc), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(fc, fc), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(fc, classes)]
    return nn.Sequential(*layers, *head)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--fc", type=int, default=0, help="FC width (default 8*width)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--classes", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fc = a.fc or 8 * a.width
    m = vgg(a.width, a.classes, fc)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, 1, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))
    lossf = nn.CrossEntropyLoss()
    m.train()
    for i in range(a.warmup + a.iters):
        if i == a.warmup:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = lossf(m(x), y)
        loss.backward()
        opt.step()
    train_ips = a.batch * a.iters / (time.perf_counter() - t0)
    m.eval()
    x1 = torch.randn(1, 1, a.size, a.size)
    with torch.no_grad():
        for _ in range(10):
            m(x1)
        n = 100
        t0 = time.perf_counter()
        for _ in range(n):
            m(x1)
        lat_ms = (time.perf_counter() - t0) / n * 1e3
    print(f"peer=pytorch-{torch.__version__} width={a.width} batch={a.batch} threads={a.threads} "
          f"train_img_s={train_ips:.1f} infer1_ms={lat_ms:.3f} "
          f"mkldnn={int(torch.backends.mkldnn.is_available())}")


if __name__ == "__main__":
    main()
