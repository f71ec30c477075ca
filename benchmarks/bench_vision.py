"""Transfer learning on this machine: pretrained EfficientNet-Lite0 vs the same net from scratch.

Learning curve on Fashion-MNIST (and MNIST-5k) over 100 / 1,000 / 10,000 class-balanced training
images at an equal budget (the same images, the same number of epochs), accuracy on held-out
test images, wall time; then CPU throughput (images/s) of feature extraction and of a training
step. Images are upscaled to ``--size`` px (default 32: CPU-feasible; the weights were trained
at 224). Prints ``ratio vs scratch`` (accuracy) and ``ratio vs train step`` (throughput).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_vision.py               # full (~25 min CPU)
    PYTHONPATH=src .venv/bin/python benchmarks/bench_vision.py --quick       # a minute or two
    PYTHONPATH=src .venv/bin/python benchmarks/bench_vision.py --data mnist-5k --sizes 100,1000,4000
    PYTHONPATH=src .venv/bin/python benchmarks/bench_vision.py --cifar10 --epochs 5  # GPU, online

    PYTHONPATH=src .venv/bin/python benchmarks/bench_vision.py --distributed  # 1 vs 2 processes

``--distributed`` fine-tunes EfficientNet-Lite0 (no pretrained weights needed for timing) at
``--size`` px on ``--ddp-images`` Fashion-MNIST images for one epoch under ``torchrun
--standalone`` with 1 and then 2 processes (gloo on CPU, nccl with ``--device cuda``; the global
batch of ``--ddp-batch`` images is split over the ranks) and prints training images/s of the
whole run with ``ratio vs 1 process``. It then times single training steps of the DDP model,
alternating synchronised steps with ``no_sync()`` steps (same work, no gradient all-reduce):
``comm share`` = (synced - unsynced) / synced median step time, the part of a step the
all-reduce costs after its overlap with the backward pass; ``all-reduce ms`` times a bare
all-reduce of a gradient-sized buffer. Feature extraction is not timed
there (under torchrun each rank extracts its shard, so it scales like inference). Several
machines: see docs/distributed.md.

``--cifar10`` is the GPU target instead: ResNet18 from ImageNet weights, full fine-tune on
CIFAR-10 at 224 px (SGD momentum 0.9, lr 0.01, cosine, label smoothing 0.1, bf16 autocast in
training and evaluation, channels_last, DataLoader workers on CUDA); prints test accuracy,
epochs, time and images/s, ratio vs 95%. Run it with ``--epochs 5`` and ``--epochs 10`` (5 may
fall short of 95%). The same run from the command line::

    dlcourse vision train cifar-10 --arch resnet18 --weights imagenet --mode finetune \\
        --image-size 224 --epochs 5 --batch-size 128 --optimizer sgd --lr 0.01 --momentum 0.9 \\
        --weight-decay 5e-4 --backbone-lr-mult 1.0 --schedule cosine --label-smoothing 0.1 \\
        --device cuda --out runs/cifar10-r18-e5
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import time

from _scaling import comm_share, scaling_rows
from dlcourse.engine.distributed import time_all_reduce


def used_device(asked: str) -> str:
    """The device ``asked`` resolves to here, as the header names it (``cpu (asked: auto)``)."""
    from dlcourse.engine import resolve_device

    used = str(resolve_device(asked))
    return used if used == asked else f"{used} (asked: {asked})"


def throughput(arch: str, size: int, batch: int, device: str, repeats: int = 3) -> dict:
    """Images/s of a frozen-backbone forward pass and of a full training step (fwd + bwd + SGD)."""
    import torch

    from dlcourse.engine import resolve_device
    from dlcourse.vision.models import build_model

    dev = resolve_device(device)
    net, _ = build_model(arch, 10, weights="none")
    net.to(dev)
    x = torch.randn(batch, 3, size, size, device=dev)             # (B, 3, S, S)
    y = torch.randint(0, 10, (batch,), device=dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    def features():
        with torch.no_grad():
            net.backbone(x)

    def train_step():
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    out = {}
    for name, fn, mode in (("features", features, False), ("train step", train_step, True)):
        net.train(mode)
        fn()                                                       # warm-up
        if dev.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        out[name] = repeats * batch / (time.perf_counter() - start)
    return out


def cifar10_finetune(epochs: int, device: str) -> None:
    """The GPU target: ResNet18 (IMAGENET1K_V1) fully fine-tuned on CIFAR-10 at 224 px."""
    from dlcourse.vision.estimator import ImageClassifier
    from dlcourse.vision.named_sets import load_named

    train, test = load_named("cifar-10")
    clf = ImageClassifier(arch="resnet18", weights="imagenet", mode="finetune", image_size=224,
                          epochs=epochs, batch_size=128, optimizer="sgd", lr=0.01, momentum=0.9,
                          weight_decay=5e-4, backbone_lr_mult=1.0, schedule="cosine",
                          label_smoothing=0.1, device=device, progress=True)
    start = time.perf_counter()
    clf.fit(train, test)
    seconds = time.perf_counter() - start
    r = clf.evaluate(test)
    rate = sum(h["items_per_s"] for h in clf.history_) / len(clf.history_)
    print(f"CIFAR-10 ResNet18 fine-tune at 224 px on {clf.device_}: top-1 {r.top1:.4f} "
          f"(top-5 {r.top5:.4f}) after {epochs} epochs, {seconds:.0f} s, {rate:.0f} train img/s; "
          f"ratio vs 95% target {r.top1 / 0.95:.3f}x")


def ddp_worker(args) -> None:
    """One torchrun rank of ``--distributed``: fine-tune, time steps, rank 0 writes JSON."""
    import torch
    import torch.nn.functional as F

    from dlcourse.engine import write_json
    from dlcourse.engine.distributed import (
        init_distributed,
        is_distributed,
        is_main_process,
        shutdown_distributed,
        world_size,
        wrap_model,
    )
    from dlcourse.vision.data import stratified_subset
    from dlcourse.vision.estimator import ImageClassifier
    from dlcourse.vision.models import build_model
    from dlcourse.vision.named_sets import load_named

    torch.set_num_threads(1)
    device = init_distributed(args.device)
    train, _ = load_named(args.data)
    train = stratified_subset(train, args.ddp_images, seed=0)
    clf = ImageClassifier(arch="efficientnet_lite0", weights="none", mode="finetune",
                          image_size=args.size, epochs=1, batch_size=args.ddp_batch, precise_bn=0,
                          device=args.device).fit(train)
    world = world_size() if is_distributed() else 1
    result = {"processes": world, "images_per_s": clf.history_[0]["items_per_s"],
              "epoch_seconds": clf.history_[0]["seconds"]}

    # step timing: synchronised steps alternate with no_sync() steps on the same batch
    net, _ = build_model("efficientnet_lite0", 10, weights="none")
    net.to(device)
    ddp = wrap_model(net, device)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.001, momentum=0.9)
    per_rank = args.ddp_batch // world
    x = torch.randn(per_rank, 3, args.size, args.size, device=device)   # (B / N, 3, S, S)
    y = torch.randint(0, 10, (per_rank,), device=device)
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(2 * args.comm_steps + 2):
        synced = i % 2 == 0
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with contextlib.nullcontext() if synced or world == 1 else ddp.no_sync():
            loss = F.cross_entropy(ddp(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:                                                   # warm-up
            times[synced].append(time.perf_counter() - start)
    synced, unsynced = statistics.median(times[True]), statistics.median(times[False])
    result.update(step_ms=1e3 * synced, no_sync_step_ms=1e3 * unsynced,
                  step_images_per_s=args.ddp_batch / synced,
                  comm_share=comm_share(synced, unsynced, world),
                  grad_mb=sum(p.numel() for p in net.parameters()) * 4 / 2**20)
    if world > 1:                        # a bare all-reduce of a gradient-sized buffer
        numel = sum(p.numel() for p in net.parameters())
        result["allreduce_ms"] = time_all_reduce(numel, args.comm_steps, device)
    if is_main_process():
        write_json(args.ddp_worker, result)
    shutdown_distributed()


def distributed_throughput(args) -> None:
    """``--distributed``: launch the worker with 1 and 2 processes and print the table."""
    rows = scaling_rows(lambda out: [
        __file__, "--ddp-worker", out, "--data", args.data, "--size", args.size,
        "--device", args.device, "--ddp-images", args.ddp_images,
        "--ddp-batch", args.ddp_batch, "--comm-steps", args.comm_steps])
    base = rows[0]["images_per_s"]
    print(f"\nEfficientNet-Lite0 fine-tune at {args.size} px, {args.ddp_images} {args.data} "
          f"images, 1 epoch, global batch {args.ddp_batch}, 1 torch thread per process, "
          f"device {used_device(args.device)}")
    print(f"{'processes':>9} {'train img/s':>11} {'vs 1 proc':>9} {'step ms':>8} "
          f"{'no_sync ms':>10} {'comm share':>10} {'all-reduce ms':>13} {'wall s':>7}")
    for r in rows:
        several = r["processes"] > 1                 # one process has nothing to synchronise
        no_sync = f"{r['no_sync_step_ms']:.1f}" if several else "-"
        allreduce = f"{r['allreduce_ms']:.1f}" if several else "-"
        print(f"{r['processes']:>9} {r['images_per_s']:>11.1f} {r['images_per_s'] / base:>9.2f} "
              f"{r['step_ms']:>8.1f} {no_sync:>10} {r['comm_share']:>10.1%} {allreduce:>13} "
              f"{r['wall_s']:>7.1f}")
    two = rows[1]
    print(f"\nratio vs 1 process (2-process images/s): {two['images_per_s'] / base:.2f}; "
          f"gradient {two['grad_mb']:.1f} MiB, all-reduce {two['allreduce_ms']:.1f} ms "
          f"({two['allreduce_ms'] / two['step_ms']:.1%} of a step), comm share of a step "
          f"(synced - no_sync) {two['comm_share']:.1%}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="fashion-mnist", help="fashion-mnist or mnist-5k")
    p.add_argument("--sizes", default="100,1000,10000", help="training-set sizes")
    p.add_argument("--test", type=int, default=2000, help="test images (class-balanced)")
    p.add_argument("--size", type=int, default=32, help="image side in px")
    p.add_argument("--epochs", type=int, default=5, help="epochs for both methods' training")
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true", help="sizes 100,300; 300 test images; 2 epochs")
    p.add_argument("--cifar10", action="store_true",
                   help="run the GPU target (ResNet18 on CIFAR-10, needs network and a GPU)")
    p.add_argument("--distributed", action="store_true",
                   help="fine-tuning throughput with 1 and 2 processes under torchrun instead")
    p.add_argument("--ddp-images", type=int, default=1024, help="images per --distributed run")
    p.add_argument("--ddp-batch", type=int, default=64, help="global batch in --distributed")
    p.add_argument("--comm-steps", type=int, default=20,
                   help="timed steps of each kind (synchronised, no_sync) in --distributed")
    p.add_argument("--ddp-worker", help=argparse.SUPPRESS)       # internal: a torchrun rank
    args = p.parse_args(argv)
    if args.ddp_worker:
        ddp_worker(args)
        return
    if args.distributed:
        distributed_throughput(args)
        return
    logging.basicConfig(level=logging.WARNING, format="  %(message)s")
    logging.getLogger("dlcourse.vision.compare").setLevel(logging.INFO)   # rows as they finish
    if args.cifar10:
        cifar10_finetune(args.epochs, args.device)
        return

    import torch

    from dlcourse.vision.compare import learning_curve
    from dlcourse.vision.data import stratified_subset
    from dlcourse.vision.named_sets import load_named

    sizes = [int(s) for s in args.sizes.split(",")]
    n_test, epochs = args.test, args.epochs
    if args.quick:
        sizes, n_test, epochs = [100, 300], 300, 2
    train, test = load_named(args.data)
    test = stratified_subset(test, n_test, seed=1)
    print(f"# {args.data}: EfficientNet-Lite0 at {args.size} px, {len(test)} test images, "
          f"{epochs} epochs for both, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, device {used_device(args.device)}")
    # feature_cache off: the pretrained time includes running the backbone over the images
    rows, _ = learning_curve(train, test, sizes, image_size=args.size, epochs=epochs,
                             head_epochs=30, device=args.device, feature_cache=False)
    print(f"{'n_train':>8} {'method':>11} {'accuracy':>9} {'top-5':>6} {'seconds':>8}")
    for r in rows:
        print(f"{r['n_train']:>8} {r['method']:>11} {r['accuracy']:>9.4f} {r['top5']:>6.3f} "
              f"{r['seconds']:>8.1f}")
    for n in sorted({r["n_train"] for r in rows}):
        pre = next(r for r in rows if r["n_train"] == n and r["method"] == "pretrained")
        scr = next(r for r in rows if r["n_train"] == n and r["method"] == "scratch")
        print(f"n={n}: pretrained accuracy {pre['accuracy']:.4f}, ratio vs scratch "
              f"{pre['accuracy'] / max(scr['accuracy'], 1e-9):.2f}x; time ratio vs scratch "
              f"{pre['seconds'] / max(scr['seconds'], 1e-9):.2f}x")

    tp = throughput("efficientnet_lite0", args.size, 64, args.device)
    print(f"throughput at {args.size} px, batch 64: feature extraction {tp['features']:.0f} img/s, "
          f"training step {tp['train step']:.0f} img/s; ratio vs train step "
          f"{tp['features'] / tp['train step']:.2f}x")
    tp224 = throughput("efficientnet_lite0", 224, 16, args.device, repeats=2)
    print(f"throughput at 224 px, batch 16: feature extraction {tp224['features']:.1f} img/s, "
          f"training step {tp224['train step']:.1f} img/s; ratio vs train step "
          f"{tp224['features'] / tp224['train step']:.2f}x")


if __name__ == "__main__":
    main()
