"""adain: build Stylized-ImageNet and texture-suppressed image datasets with batched AdaIN.

Sub-packages, each importing only those before it (the data's way, then its side roads):

``files``       atomic writes, locks, TSV tables, confined paths, file hashes, image files, job logs
``core``        the networks: AdaIN math, VGG encoder and decoder, release weights, filters, FLOPs
``engine``      stylizing on a device: decoding, presets, statistics cache, painting draws, GPU
                claims, the overlapped pipeline (``engine.stylizer``), ``StyleAugment``
``build``       index -> paintings -> manifest -> stylize_shard -> validate -> pack -> summary; the
                shard format, fingerprints, settings, run state, the workflow's jobs
``data``        readers for training (``ShardDataset``, ``ShardStream``)
``evaluation``  categories, classifiers, cue-conflict stimuli, shape bias, Top-K, accuracy, plots
``cli``         the ``adain`` command
"""

__version__ = "0.1.0"
