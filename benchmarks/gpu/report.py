"""The GPU check's two ends: the machine it runs on (``env``) and the compact figures (``summary``).

    python3 benchmarks/gpu/report.py env --device cuda --json WORK/out/env.json
    python3 benchmarks/gpu/report.py summary WORK OUT/gpu.json [--print]

``summary`` reads what ``check.sh``'s steps left in WORK (``steps.tsv``; ``out/``: the word2vec
tables as printed, the helpers' JSON, the LM runs' metrics and histories, pytest's JUnit XML)
and writes one JSON; check.sh runs it after every step, so a run cut short still returns its
figures. It imports neither torch nor numpy (``env`` imports torch).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

PTB_TRAIN_TOKENS = 929_589   # Mikolov's PTB training split
PTB_MEDIUM_EPOCHS = 39       # Zaremba et al.'s medium recipe
CIFAR10_TRAIN = 50_000
NOT_OFFLINE = [
    "ResNet18 on CIFAR-10 accuracy after 5 and 10 epochs (CIFAR-10 and the torchvision ResNet18 "
    "ImageNet weights are online only): vision.resnet18 gives its images/s at 224 px from random "
    "weights, projected onto a CIFAR-10 epoch",
    "ptb-medium perplexity on PTB (PTB is online only): lm.lm-device-ptb-medium gives its "
    "tokens/s on WordNet glosses (60,000 lines, about PTB's 929k training tokens) and the time "
    "of 39 PTB epochs at that rate; its perplexities are the glosses', not PTB's",
    "SimLex-999 in the word2vec table (its copy ships in gensim's wheel, absent there): NaN",
    "Fashion-MNIST's 60,000 training images (26 MB, beyond the carry budget): SOM and vision use "
    "its 10,000 test images",
]
# one row of bench_word2vec.py --torch-path: method, path, ops/1024, words/s, x numba, loss,
# wordsim, simlex, analogy
W2V_ROW = re.compile(r"^\s*(skipgram|cbow)\s+(numba|torch \d+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\S+)"
                     r"\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def env(device: str, out: Path) -> None:
    """Print and save the versions, the GPU and (on CUDA) a bf16 matrix-product sanity figure."""
    import numba
    import numpy
    import torch

    info = {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "torch_cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "numpy": numpy.__version__, "numba": numba.__version__,
            "cuda_available": torch.cuda.is_available(), "device_asked": device}
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError as exc:
        info["torchvision"] = f"missing: {exc}"
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gib=props.total_memory / 2**30,
                    capability=f"{props.major}.{props.minor}", sms=props.multi_processor_count)
    if device.startswith("cuda") and torch.cuda.is_available():
        n = 8192                                      # 1.1 TFLOP a product: about 1.4 ms
        a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
        b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
        for _ in range(3):
            a @ b
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        torch.cuda.synchronize()
        info["bf16_matmul_tflops"] = 10 * 2 * n**3 / (time.perf_counter() - start) / 1e12
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                              "clocks.max.sm", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        info["nvidia_smi"] = f"unavailable: {exc}"
    for key, value in info.items():
        print(f"{key:>20}: {value}")
    out.write_text(json.dumps(info, indent=1))


def word2vec(out: Path) -> dict:
    rows = []
    for path in sorted(out.glob("w2v-*.out")):
        for line in path.read_text(errors="replace").splitlines():
            m = W2V_ROW.match(line)
            if m:
                method, path_name, ops, rate, ratio, loss, ws, sl, an = m.groups()
                rows.append({"method": method, "path": path_name, "ops_per_1024": number(ops),
                             "words_per_s": float(rate), "x_numba_1_thread": number(ratio),
                             "final_loss": number(loss), "wordsim": number(ws),
                             "simlex": number(sl), "analogy": number(an)})
    cores = load(out / "w2v_cores.json")
    return {"torch_path": rows, "numba_all_cores": cores.get("rows", []) if cores else []}


def lm(out: Path) -> dict:
    runs = {}
    for folder in sorted(p for p in out.glob("lm-*") if p.is_dir()):
        metrics, history = load(folder / "metrics.json"), load(folder / "history.json")
        if not metrics and not history:
            continue
        rates = [h["items_per_s"] for h in history or []]
        best = max(rates) if rates else None
        run = {"tokens_per_s_per_epoch": rates, "best_tokens_per_s": best,
               "epoch_seconds": [h["seconds"] for h in history or []], **(metrics or {})}
        if best:
            run["ptb_epoch_seconds_projected"] = PTB_TRAIN_TOKENS / best
            run["ptb_39_epochs_minutes_projected"] = (
                PTB_MEDIUM_EPOCHS * PTB_TRAIN_TOKENS / best / 60)
        runs[folder.name] = run
    return runs


def tests(out: Path) -> dict | None:
    path = out / "tests.xml"
    if not path.is_file():
        return None
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failed = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None]
    return {**counts, "failed": failed[:20]}


def load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def steps(work: Path) -> list[dict]:
    rows = []
    tsv = work / "steps.tsv"
    for line in tsv.read_text().splitlines() if tsv.is_file() else []:
        name, rc, seconds, limit = line.split("\t")
        status = {"0": "ok", "124": "timeout", "137": "timeout", "skip": "skipped"}.get(
            rc, "failed")
        rows.append({"step": name, "status": status, "rc": rc, "seconds": int(seconds),
                     "limit": int(limit)})
    return rows


def summary(work: Path, target: Path, show: bool) -> None:
    out = work / "out"
    vision = (load(out / "vision.json") or {}).get("rows", [])
    for row in vision:
        best = max(row["train_images_per_s"])
        row["cifar10_train_minutes_projected"] = {
            f"{e}_epochs": e * CIFAR10_TRAIN / best / 60 for e in (5, 10)}
        row.pop("history", None)  # steps.tar.gz keeps it
    result = {"meta": load(work / "meta.json"), "env": load(out / "env.json"),
              "steps": steps(work), "word2vec": word2vec(out),
              "som": (load(out / "som.json") or {}).get("rows", []), "lm": lm(out),
              "vision": vision, "tests": tests(out), "not_measured_offline": NOT_OFFLINE}
    target.write_text(json.dumps(result, indent=1, default=str))
    if show:
        print_summary(result)


def print_summary(r: dict) -> None:
    """The figures in a few lines, for the end of the log."""
    print("steps: " + ", ".join(f"{s['step']} {s['status']} {s['seconds']}s" for s in r["steps"]))
    for w in r["word2vec"]["torch_path"]:
        print(f"word2vec {w['method']:>8} {w['path']:>12}: {w['words_per_s']:>10,.0f} words/s "
              f"(x{w['x_numba_1_thread']} numba 1 thread), loss {w['final_loss']}, "
              f"wordsim {w['wordsim']}, analogy {w['analogy']}")
    for w in r["word2vec"]["numba_all_cores"]:
        print(f"word2vec {w['method']:>8} numba x{w['workers']}: {w['words_per_s']:,.0f} words/s")
    for s in r["som"]:
        print(f"SOM {s['data']} {s['rows']}x{s['dim']} {s['grid']} {s['path']}: "
              f"{s['fit_seconds']:.2f} s (x{s['speedup_vs_numba']:.2f}), QE {s['qe_judged']:.4f} "
              f"TE {s['te_judged']:.4f}")
    for name, run in r["lm"].items():
        print(f"LM {name}: {run.get('best_tokens_per_s') or 0:,.0f} tokens/s, test ppl "
              f"{run.get('test_ppl')}, 39 PTB epochs ~ "
              f"{run.get('ptb_39_epochs_minutes_projected') or 0:.1f} min at this rate")
    for v in r["vision"]:
        print(f"vision {v['arch']} ({v['weights']}) {v['image_size']} px on {v['device']}: "
              f"{max(v['train_images_per_s']):,.0f} train img/s, top-1 {v['top1']:.4f} after "
              f"{v['epochs']} epochs; CIFAR-10 5/10 epochs ~ "
              + "/".join(f"{m:.1f}" for m in v["cifar10_train_minutes_projected"].values())
              + " min of training")
    if r["tests"]:
        t = r["tests"]
        print(f"tests: {t['tests']} run, {t['failures']} failures, {t['errors']} errors, "
              f"{t['skipped']} skipped {t['failed'] or ''}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("env")
    e.add_argument("--device", default="cuda")
    e.add_argument("--json", type=Path, required=True)
    s = sub.add_parser("summary")
    s.add_argument("work", type=Path)
    s.add_argument("target", type=Path)
    s.add_argument("--print", action="store_true", dest="show")
    args = p.parse_args()
    if args.command == "env":
        env(args.device, args.json)
    else:
        summary(args.work, args.target, args.show)


if __name__ == "__main__":
    main()
