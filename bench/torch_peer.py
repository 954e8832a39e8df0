"""Native PyTorch's training step for the bench's training rows (bench/native.ts runs it in a child process).

The same architectures as netdeconv's nn.mnistCnn, nn.resnet18 and their deconvolution twins (FastDeconv2d and
Delinear written as in the official code, backpropagating through the Newton–Schulz iteration), the same batch,
SGD with momentum and cross-entropy, on `threads` threads. Builds the JSON case of argv[1], prints "ready", then
for every line of stdin that holds a count n, runs n steps and prints their seconds as one JSON line, so that the
bench can take its samples between netdeconv's own.
"""

import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def effective_block(channels, block):
    if block > channels:
        return channels
    return math.gcd(block, channels) if channels % block else block


def newton_schulz(a, n_iter):
    norm = a.norm()
    eye = torch.eye(a.shape[-1], dtype=a.dtype)
    y, z = a / norm, eye
    for _ in range(n_iter):
        t = (3 * eye - z @ y) / 2
        y, z = y @ t, t @ z
    return z / norm.sqrt()


class FastDeconv2d(nn.Conv2d):
    def __init__(self, cin, cout, k, stride=1, padding=0, block=64, n_iter=5, sampling_stride=3, eps=1e-5):
        super().__init__(cin, cout, k, stride=stride, padding=padding, bias=True)
        self.block = effective_block(cin, block)
        self.n_iter, self.sampling_stride, self.eps = n_iter, sampling_stride, eps
        d = k * k * self.block
        self.register_buffer("running_mean", torch.zeros(d))
        self.register_buffer("running_deconv", torch.eye(d))

    def forward(self, x):
        k, s = self.kernel_size[0], self.sampling_stride * self.stride[0]
        if k > 1:
            rows = F.unfold(x, k, padding=self.padding, stride=s)
            rows = rows.transpose(1, 2).reshape(-1, rows.shape[1])
        else:
            rows = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])[:: s * s]
        d, groups = k * k * self.block, x.shape[1] // self.block
        X = rows.view(rows.shape[0], d, groups).transpose(1, 2).reshape(-1, d)
        mean = X.mean(0)
        Xc = X - mean
        deconv = newton_schulz(Xc.T @ Xc / X.shape[0] + self.eps * torch.eye(d), self.n_iter)
        with torch.no_grad():
            self.running_mean.mul_(0.9).add_(0.1 * mean)
            self.running_deconv.mul_(0.9).add_(0.1 * deconv)
        cout = self.weight.shape[0]
        w = self.weight.reshape(cout, d, groups).transpose(1, 2).reshape(cout * groups, d) @ deconv
        shift = (w.view(cout, groups, d) @ mean).sum(1)
        w = w.view(cout, groups, d).transpose(1, 2).reshape(self.weight.shape)
        return F.conv2d(x, w, self.bias - shift, self.stride, self.padding)


class Delinear(nn.Linear):
    def __init__(self, fin, fout, block=512, n_iter=5, eps=1e-5):
        super().__init__(fin, fout)
        self.block, self.n_iter, self.eps = effective_block(fin, block), n_iter, eps

    def forward(self, x):
        X = x.reshape(-1, self.block)
        mean = X.mean(0)
        Xc = X - mean
        deconv = newton_schulz(Xc.T @ Xc / X.shape[0] + self.eps * torch.eye(self.block), self.n_iter)
        w = self.weight.reshape(-1, self.block) @ deconv
        shift = (w @ mean).view(self.weight.shape[0], -1).sum(1)
        return F.linear(x, w.reshape(self.weight.shape), self.bias - shift)


def conv_norm(cin, cout, k, stride, padding, case):
    """A conv and its BatchNorm, or the FastDeconv2d that replaces both (convertToDeconv)."""
    if case["deconv"]:
        opts = {"block": case["block"], "n_iter": case["nIter"], "sampling_stride": case["samplingStride"]}
        return [FastDeconv2d(cin, cout, k, stride, padding, **opts)]
    return [nn.Conv2d(cin, cout, k, stride, padding, bias=False), nn.BatchNorm2d(cout)]


def classifier(fin, case):
    return Delinear(fin, 10, block=case["blockFc"]) if case["deconv"] and case["blockFc"] > 0 else nn.Linear(fin, 10)


def mnist_cnn(case):
    return nn.Sequential(
        *conv_norm(1, 8, 3, 1, 1, case),
        nn.ReLU(),
        nn.MaxPool2d(2),
        *conv_norm(8, 16, 3, 1, 1, case),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        classifier(16 * 7 * 7, case),
    )


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride, case):
        super().__init__()
        self.branch = nn.Sequential(
            *conv_norm(cin, planes, 3, stride, 1, case), nn.ReLU(), *conv_norm(planes, planes, 3, 1, 1, case)
        )
        down = stride != 1 or cin != planes
        self.shortcut = nn.Sequential(*conv_norm(cin, planes, 1, stride, 0, case)) if down else nn.Identity()

    def forward(self, x):
        return F.relu(self.branch(x) + self.shortcut(x))


def resnet18(case):
    w = [max(1, round(c * case["width"])) for c in (64, 128, 256, 512)]
    layers = [*conv_norm(3, w[0], 3, 1, 1, case), nn.ReLU()]
    c = w[0]
    for i, planes in enumerate(w):
        stride = 2 if i > 0 else 1
        layers += [BasicBlock(c, planes, stride, case), BasicBlock(planes, planes, 1, case)]
        c = planes
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), classifier(c, case))


def main():
    case = json.loads(sys.argv[1])
    torch.set_num_threads(case["threads"])
    torch.manual_seed(0)
    model = (mnist_cnn if case["model"] == "mnist-cnn" else resnet18)(case)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(case["batch"], *case["inShape"])
    y = torch.arange(case["batch"]) % 10

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    print("ready", flush=True)
    for line in sys.stdin:
        steps = int(line)
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
