#!/usr/bin/env bash
# The wheels bench/gpu_check.py installs on a GPU machine that reaches no registry: the closure of
# `adain-datasets` and webdataset (the test extra less the Slurm, S3 and Hugging Face plugins) as
# installed in this venv (README install), less the large or compiled packages the lent machine's
# image already has (torch, torchvision and CUDA, numpy, pillow, h5py, scikit-image, matplotlib,
# pyyaml, pytest, ...: the list below, from /work/.library/device/KINDS.md, "Python packages
# already there").
# Into .whl/ (git-ignored, ~50 MB); carry it with the tree:
#     run(command="python3 bench/gpu_check.py --out $OUT", carry=[".whl"])
# Compiled packages come for each CPython of PYTHONS (manylinux x86_64; default 3.12, which the lent
# image runs (2026-11), and 3.13; each more version adds ~11 MB, and the tool carries 64 MiB with
# the tree: 3.11 still fits, 3.10 does not); pure-Python ones once; a package published only as
# source is built into a pure wheel here.
#     PYTHONS="3.11 3.12 3.13" bash bench/gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl && mkdir -p .whl
python - > .whl/requirements.txt <<'PY'
import re
from importlib.metadata import distribution, PackageNotFoundError

# on the lent GPU machines' image (KINDS.md, read 2026-11-17), large or compiled, with loose pins in
# this closure: not carried. Small pure-Python packages are carried even where the image has them
# (pip keeps an installed version that satisfies every pin, e.g. snakemake's packaging<26, and
# installs the carried one where it does not).
THERE = set("""
torch torchvision triton numpy pillow h5py scikit-image scipy matplotlib contourpy kiwisolver fonttools
pyyaml markupsafe jinja2 msgpack pytest pluggy iniconfig pytest-xdist execnet networkx sympy mpmath
filelock fsspec lazy-loader imageio tifffile pip wheel
""".split())
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
    if key != "adain-datasets" and key not in THERE and not key.startswith(("nvidia-", "cuda-")):
        print(f"{key}=={version}")
PY
# setuptools is there, but pip's isolated build of this package (`pip install -e .`) sees only the wheels
echo "setuptools>=77" >> .whl/requirements.txt
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
    --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux1_x86_64)
while read -r requirement; do
    [ -n "$requirement" ] || continue
    got=0
    for version in ${PYTHONS:-3.12 3.13}; do
        if python -m pip download --quiet --no-deps --only-binary=:all: -d .whl --implementation cp \
            --python-version "$version" "${platforms[@]}" "$requirement" 2>/dev/null; then
            got=1
        fi
    done
    if [ "$got" = 0 ]; then  # published as source only: a pure wheel, built here
        python -m pip download --quiet --no-deps --no-binary=:all: -d .whl/src "$requirement"
    fi
done < .whl/requirements.txt
for sdist in .whl/src/*; do
    [ -e "$sdist" ] || continue
    python -m pip wheel --quiet --no-deps --no-build-isolation -w .whl "$sdist"
done
rm -rf .whl/src
ls .whl/*.whl | wc -l
du -sh .whl
