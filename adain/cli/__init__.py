"""The ``adain`` command (``main``), its evaluation commands (``evaluation``) and ``adain
inspect`` / ``adain export`` (``inspect``). The top layer: imports any stage, lazily."""
