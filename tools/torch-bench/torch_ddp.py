#!/usr/bin/env python3
"""PyTorch DDP reference for `npm run bench:cluster`: the scaling yardstick.

One process per rank (torch.multiprocessing), each on one thread (and with --pin on its own
CPU); gloo over loopback TCP (the process group
rendezvous through a TCPStore on 127.0.0.1); DistributedDataParallel around the seed's
model and recipe (torch_bench.py's make_training). Every epoch each rank trains its shard
of a global permutation: --batch is the global batch (each rank takes batch/world of it,
strong scaling) unless --batch-per-rank is given (weak scaling: global = that x world).
Only training is timed, the epoch ends with one read-back, as torch_bench.py's epochs
method and our runEpochs do. Prints one JSON object: the global images/s of each epoch
and the median of epochs 2..E.

    python3 tools/torch-bench/torch_ddp.py --world 2 [--model lenet5] [--epochs 4] [--images 12800] [--batch 64]
"""
import argparse
import json
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import DEFAULT_MNIST, make_training, median, read_idx  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def rank_main(rank, a, port, out):
    torch.set_num_threads(1)
    if a.pin and hasattr(os, 'sched_setaffinity') and os.cpu_count():
        os.sched_setaffinity(0, {rank % os.cpu_count()})
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=a.world)
    x_all, y_all = read_idx(os.path.join(a.mnist_dir, 'train-images-idx3-ubyte'), os.path.join(a.mnist_dir, 'train-labels-idx1-ubyte'))
    model, opt, loss_fn = make_training(a.model)
    ddp = DDP(model)
    per_rank = a.batch_per_rank or a.batch // a.world
    global_batch = per_rank * a.world
    g = torch.Generator().manual_seed(1)
    rates = []
    for _ in range(a.epochs):
        order = torch.randperm(x_all.shape[0], generator=g)[: a.images]
        dist.barrier()
        t0 = time.perf_counter()
        loss_sum = torch.zeros(())
        ddp.train()
        for lo in range(0, a.images, global_batch):
            idx = order[lo + rank * per_rank: min(lo + (rank + 1) * per_rank, a.images)]
            if idx.numel() == 0:
                continue
            opt.zero_grad()
            loss = loss_fn(ddp(x_all[idx]), y_all[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
        loss_sum.item()
        dist.barrier()
        rates.append(a.images / (time.perf_counter() - t0))
    if rank == 0:
        out.put({'world': a.world, 'model': a.model, 'globalBatch': global_batch, 'perRankBatch': per_rank,
                 'imagesPerSecByEpoch': [round(r) for r in rates], 'imagesPerSec': round(median(rates[1:] or rates))})
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--mnist-dir', default=os.environ.get('MNIST_DIR', DEFAULT_MNIST))
    p.add_argument('--world', type=int, default=2)
    p.add_argument('--model', default='lenet5')
    p.add_argument('--epochs', type=int, default=4)
    p.add_argument('--images', type=int, default=12800)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--batch-per-rank', type=int)
    p.add_argument('--pin', action='store_true', help='pin rank r to CPU r')
    a = p.parse_args()
    ctx = mp.get_context('spawn')
    out = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=rank_main, args=(r, a, port, out)) for r in range(a.world)]
    for pr in procs:
        pr.start()
    result = out.get()
    for pr in procs:
        pr.join()
    json.dump({'method': 'DDP over gloo (loopback TCP), 1 thread per rank, training time only, median of epochs 2+',
               'torch': torch.__version__, **result}, sys.stdout)
    print()


if __name__ == '__main__':
    main()
