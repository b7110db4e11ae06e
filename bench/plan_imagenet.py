"""ImageNet scale without the data: index, manifest and a Snakemake dry run of the full dataset.

Builds a tree of empty files shaped like ILSVRC-2012 (1,000 classes; 1,281,167 train and 50,000
val images) and 79,433 painting names, then measures, each in a fresh process:

* indexing the tree (``adain.stages.index_images.write_index``; target <= 60 s) and its peak memory,
* the seeded manifest (``adain.stages.assign_styles.write_manifests``) and its peak memory,
* ``snakemake -n`` planning every shard (target: >= 1,000 shards in <= 30 s),

and the same steps on a tree 10x smaller, to show that memory does not grow with the dataset.

    python bench/plan_imagenet.py [--root /tmp/imagenet-plan] [--shard-size 1300]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TRAIN, VAL, PAINTINGS, CLASSES = 1_281_167, 50_000, 79_433, 1000


def make_tree(root: Path, scale: float) -> Path:
    """Empty files ``<root>/content/{train,val}/<wnid>/<wnid>_<i>.JPEG``."""
    content = root / "content"
    for split, total in (("train", int(TRAIN * scale)), ("val", int(VAL * scale))):
        per_class, extra = divmod(total, CLASSES)
        for c in range(CLASSES):
            wnid = f"n{c:08d}"
            folder = content / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class + (c < extra)):
                open(folder / f"{wnid}_{i}.JPEG", "wb").close()
    return content


def measured(code: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh Python; return (seconds, peak RSS in MiB, its stdout)."""
    # VmHWM of the new process image (ru_maxrss would include the parent's peak from before exec)
    wrapper = (
        f"import time\nstart = time.perf_counter()\n{code}\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print('@@', time.perf_counter() - start, int(peak) / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True, cwd=REPO).stdout
    line = [row for row in out.splitlines() if row.startswith("@@")][-1].split()
    return float(line[1]), float(line[2]), out


def plan(root: Path, scale: float, shard_size: int) -> None:
    from adain.core.weights import write_random_weights
    from adain.stages.paintings import merge_stats

    start = time.perf_counter()
    content = make_tree(root, scale)
    print(
        f"scale {scale:g}: tree of {int((TRAIN + VAL) * scale):,} empty files made in {time.perf_counter() - start:.0f} s"
    )
    out = root / "out"
    vgg, decoder = write_random_weights(root / "weights")
    styles = root / "paintings"
    styles.mkdir()
    shutil.copy(REPO / "demo" / "paintings" / "00001.jpg", styles / "00001.jpg")
    seconds, rss, _ = measured(
        "from adain.stages.index_images import write_index\n"
        f"write_index({str(content)!r}, ['train', 'val'], {str(out / 'index' / 'images.tsv')!r}, "
        f"{str(out / 'index' / 'classes.tsv')!r})"
    )
    (out / "index" / "notes.txt").write_text("")
    print(f"  index_images: {seconds:6.1f} s, peak memory {rss:6.0f} MiB")
    names = [f"{i:05d}.jpg" for i in range(PAINTINGS)]
    (out / "paintings").mkdir(parents=True)
    (out / "paintings" / "accepted.tsv").write_text(
        "painting\twidth\theight\n" + "".join(f"{n}\t512\t512\n" for n in names)
    )
    (out / "paintings" / "rejected_prepare.tsv").write_text("painting\treason\n")
    chunks = []
    for c, first in enumerate(range(0, PAINTINGS, 2000)):
        chunk = out / "paintings" / "stats" / f"{c:04d}.npz"
        chunk.parent.mkdir(exist_ok=True)
        part = names[first : first + 2000]
        np.savez(
            chunk,
            names=np.array(part),
            stats=np.ones((len(part), 2, 512), np.float32),
            rejected=np.array([], dtype=str),
            reasons=np.array([], dtype=str),
        )
        chunks.append(chunk)
    merge_stats(chunks, out / "paintings" / "rejected_decode.tsv", out / "paintings" / "stats.h5", {})
    seconds, rss, _ = measured(
        "from adain.stages.assign_styles import write_manifests\nfrom adain.stages.paintings import PaintingStats\n"
        f"write_manifests({str(out / 'index' / 'images.tsv')!r}, PaintingStats({str(out / 'paintings' / 'stats.h5')!r}).names, "
        f"0, {shard_size}, {str(out / 'manifest')!r})"
    )
    shards = len((out / "manifest" / "shards.tsv").read_text().splitlines()) - 1
    print(f"  assign_styles: {seconds:5.1f} s, peak memory {rss:6.0f} MiB, {shards} shards")
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "-s",
        str(REPO / "Snakefile"),
        "--configfile",
        str(REPO / "config.yaml"),
        "--directory",
        str(root),
        "--cores",
        "16",
        "--config",
        f"content_dir={content}",
        f"style_dir={styles}",
        f"output_dir={out}",
        f"vgg_weights={vgg}",
        f"decoder_weights={decoder}",
        f"shard_size={shard_size}",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    planned = max(
        [
            int(line.split()[1])
            for line in result.stdout.splitlines()  # the "Job stats" table
            if line.split()[:1] == ["stylize_shard"] and len(line.split()) > 1 and line.split()[1].isdigit()
        ],
        default=0,
    )
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:])
    print(f"  snakemake -n: {seconds:6.1f} s, {planned} stylize_shard jobs planned (of {shards} shards)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=None, help="scratch folder (default: a temporary one, removed after)")
    parser.add_argument("--shard-size", type=int, default=1300)
    args = parser.parse_args()
    base = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="imagenet-plan-"))
    try:
        for scale in (0.1, 1.0):
            root = base / f"scale-{scale:g}"
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            plan(root, scale, max(1, int(args.shard_size * scale)))
    finally:
        if not args.root:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
