"""The stages the workflow runs, one module per rule and named after it: ``index_images`` ->
``paintings`` (prepare, compute and merge painting statistics) -> ``assign_styles`` ->
``stylize_shard`` -> ``validate_shard`` -> ``pack_shard`` -> ``summarize`` (with
``dataset_card``); with what they share: the typed settings every job receives (``settings``) and
the fingerprints recorded in their outputs (``fingerprints``). Imports ``engine``, ``core``,
``shards``, ``files``."""
