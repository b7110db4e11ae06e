"""adain: build Stylized-ImageNet and texture-suppressed image datasets with batched AdaIN.

Sub-packages, each importing only those before it (the data's way, then its side roads):

``files``       atomic writes, locks, TSV tables, confined paths, file hashes, image files, job logs
``shards``      the on-disk shard format (HDF5 shards, a shard's checkpointed parts)
``core``        the networks: AdaIN math, VGG encoder and decoder, release weights, filters, FLOPs
``engine``      stylizing on a device: decoding, presets, statistics cache, painting draws, GPU
                claims, device and dtype, decode workers, batching, the overlapped pipeline
                (``engine.stylizer``), ``StyleAugment``
``stages``      the workflow's stages, one module per rule: index_images -> paintings ->
                assign_styles -> stylize_shard -> validate_shard -> pack_shard -> summarize;
                their settings and fingerprints
``data``        readers for training (``ShardDataset``, ``ShardStream``); imports ``shards``, not
                the stages
``run``         a workflow run: output layout (``paths``), plan, start (the workflow's one place of
                effects), reconcile, preflight, status, verify, jobs
``evaluation``  categories, classifiers, cue-conflict stimuli, shape bias, Top-K, accuracy, plots
``cli``         the ``adain`` command (``adain stylize``'s folder run in ``cli.stylize``)
"""

__version__ = "0.1.0"
