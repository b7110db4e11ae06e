"""Building a dataset, in the data's order (what the workflow runs): ``index`` -> ``paintings``
-> ``manifest`` -> ``stylize_shard`` (with ``checkpoint``) -> ``validate`` -> ``pack`` ->
``summary`` (and ``card``); the shard format (``shards``), fingerprints (``identity``), settings
(``settings``), run state (``reconcile``, ``status``, ``verify``, ``preflight``), the jobs the rules
call (``jobs``), and ``adain stylize``'s folder run (``folder``). Imports ``engine``, ``core``, ``files``."""
