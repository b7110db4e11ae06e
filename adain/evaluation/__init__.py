"""Evaluating classifiers (a side road): the 16 categories (``categories``), classifiers
(``classifier``), cue-conflict stimuli (``cueconflict``), shape bias (``shapebias``) and its Top-K
variant (``topk``), accuracy on shards (``accuracy``), plots (``plots``), its workflow jobs
(``jobs``) and config checks (``preflight``). Imports ``data``, ``engine``, ``core``, ``files``."""
