#!/usr/bin/env bash
# The wheels bench/gpu_check.py installs on a GPU machine that reaches no registry: the closure
# of `adain-datasets` and webdataset (the test extra less the Slurm plugin, which brings pandas) as
# installed in this venv (README install), less what that machine already has (torch, torchvision
# and CUDA, numpy, pillow, h5py, scikit-image and its stack, pytest). Into .whl/ (git-ignored,
# ~55 MB); carry it with the tree:
#     run(command="python bench/gpu_check.py --out $OUT", carry=[".whl"])
# Compiled wheels are for this Python (3.11); the GPU machine's must match.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
python - > .whl/requirements.txt <<'PY'
import re
from importlib.metadata import distribution, PackageNotFoundError

HAVE = re.compile(r"^(torch|torchvision|triton|nvidia-.*|cuda-.*|numpy|pillow|h5py|scikit-image|scipy|imageio|"
                  r"tifffile|networkx|lazy-loader|pytest|pluggy|iniconfig|sympy|mpmath|filelock|fsspec|"
                  r"jinja2|markupsafe|typing-extensions|setuptools|pip)$")
seen, todo = {}, ["adain-datasets", "webdataset"]
while todo:
    spec = todo.pop()
    name, _, extra = spec.partition("[")
    key = re.sub(r"[-_.]+", "-", name).lower()
    try:
        dist = distribution(key)
    except PackageNotFoundError:
        continue
    if key in seen and not extra:
        continue
    seen[key] = dist.version
    wanted = {extra.rstrip("]")} if extra else set()
    for requirement in dist.requires or []:
        body, _, marker = requirement.partition(";")
        if "extra" in marker and not any(f'"{e}"' in marker or f"'{e}'" in marker for e in wanted):
            continue
        match = re.match(r"\s*([A-Za-z0-9_.-]+)", body)
        if match:
            todo.append(match.group(1))
for key, version in sorted(seen.items()):
    if key != "adain-datasets" and not HAVE.match(key):
        print(f"{key}=={version}")
PY
# setuptools (and packaging, listed above) also for pip's isolated build of this package (`-e .`), which sees
# only the wheels, not the machine's packages
python -m pip download --quiet --no-deps -d .whl -r .whl/requirements.txt "setuptools>=77" 2>&1 \
    | grep -v "is ignored" || true
# a source-only package becomes a wheel here, so nothing is built there
for sdist in .whl/*.tar.gz; do
    [ -e "$sdist" ] || continue
    python -m pip wheel --quiet --no-deps --no-build-isolation -w .whl "$sdist" && rm "$sdist"
done
du -sh .whl
