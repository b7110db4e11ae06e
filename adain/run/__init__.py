"""A workflow run around the stages: the output folder's layout (``paths``), its plan and the
reconciling of what is on disk with it (``reconcile``), checks before it starts (``preflight``),
``adain status`` (``status``), ``adain verify`` of packed shards' checksums (``verify``), an
output folder kept in S3 (``mirror``) and the entry points the rules' scripts call (``jobs``). Imports ``stages`` and everything below."""
