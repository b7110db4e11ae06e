"""Evaluating classifiers (a side road): the 16 categories (``categories``), classifiers
(``classifier``), cue-conflict stimuli (``cueconflict``), shape bias (``shapebias``) and its Top-K
variant (``topk``), accuracy on shards (``accuracy``), plots (``plots``), its workflow jobs
(``jobs``) and config checks (``preflight``); what Top-K neurons see: texture synthesis and feature
reconstruction (``synthesis``) with Gatys' normalised VGG-19 (``gatys_vgg``), histogram matching
(``histogram``) and the folder run of ``adain synthesize`` (``synthesis_run``). The representation
analyses: pooled layer features
(``features``), shape and texture dimensions (``pairs``, ``dimensionality``, ``dimensions``),
linear decodability (``probe``, ``decodability``), REFINED-BIAS (``refinedbias``) and their figures
(``analysis_plots``). Imports ``data``, ``engine``, ``core``, ``files``."""
