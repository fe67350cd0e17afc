"""Training throughput of the CNN on this machine (samples per second).

Times full training steps (augmentation, forward, backward, Adam) on
random PDFs for the paper's network and smaller ones, and prints a
table.  Run from the repository root::

    python benchmarks/train.py                 # CPU, default threads
    python benchmarks/train.py --device cuda --batch-size 256
    python benchmarks/train.py --threads 2 --steps 5

Numbers depend on the CPU, the thread count and other load; read them as
the order of magnitude for planning a training run (epochs per hour).
"""

import argparse
import time

CONFIGS = [
    ("paper 256,64 k32 h128", {"filters": [256, 64], "kernel": 32}),
    ("128,64 k24 h128", {"filters": [128, 64], "kernel": 24}),
    ("64,64 k32 h128", {"filters": [64, 64], "kernel": 32}),
    ("32,32 k16 h64", {"filters": [32, 32], "kernel": 16, "hidden": 64}),
]


def bench(config, batch_size, steps, device, augment):
    """Return (samples/s of training steps, parameters)."""
    import torch

    from diffpy.sgpredict.augment import Augmenter, minmax_truncate
    from diffpy.sgpredict.grid import MODEL_GRID
    from diffpy.sgpredict.models import build_model

    torch.manual_seed(0)
    net = build_model("cnn", config).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    aug = Augmenter(MODEL_GRID.r)
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(batch_size, MODEL_GRID.npoints)
    y = torch.randint(0, 45, (batch_size,), device=device)
    full = torch.full((batch_size,), MODEL_GRID.npoints)

    def step():
        if augment:
            x, _ = aug(g, generator=gen)
        else:
            x = minmax_truncate(g, full)
        loss = torch.nn.functional.cross_entropy(net(x.to(device)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    net.train()
    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    rate = steps * batch_size / (time.perf_counter() - t0)
    return rate, sum(p.numel() for p in net.parameters())


def augment_rate(batch_size, steps):
    """Samples per second of the augmentation alone (CPU)."""
    import torch

    from diffpy.sgpredict.augment import Augmenter
    from diffpy.sgpredict.grid import MODEL_GRID

    aug = Augmenter(MODEL_GRID.r)
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(batch_size, MODEL_GRID.npoints)
    aug(g, generator=gen)
    t0 = time.perf_counter()
    for _ in range(steps):
        aug(g, generator=gen)
    return steps * batch_size / (time.perf_counter() - t0)


def main(argv=None):
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"device {device}, {args.threads} threads, batch {args.batch_size},"
        f" {args.steps} timed steps, torch {torch.__version__}"
    )
    rate = augment_rate(args.batch_size, args.steps * 4)
    print(f"augmentation alone: {rate:,.0f} samples/s\n")
    head = f"{'network':<24s}{'params':>11s}{'plain/s':>10s}{'augm./s':>10s}"
    head += f"{'min/100k':>10s}"
    print(head)
    print("-" * len(head))
    for name, cfg in CONFIGS:
        plain, npar = bench(cfg, args.batch_size, args.steps, device, False)
        aug, _ = bench(cfg, args.batch_size, args.steps, device, True)
        print(
            f"{name:<24s}{npar:>11,d}{plain:>10.0f}{aug:>10.0f}"
            f"{1e5 / aug / 60:>10.1f}"
        )


if __name__ == "__main__":
    main()
