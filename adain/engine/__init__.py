"""Batched stylization on a device: decoding and preprocessing (``images``), the dataset presets
(``presets``), the painting statistics cache (``cache``), seeded painting draws (``assign``), GPU
claims (``gpus``), the overlapped pipeline (``stylizer``: ``Stylizer``, ``ImageDataset``), and
on-the-fly stylization for training (``augment``). Imports ``core`` and ``files``."""
