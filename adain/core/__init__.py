"""The networks and their math: AdaIN (``functional``), the VGG encoder and decoder and their
weight files (``model``), the release weights (``weights``: download, random stand-ins), the
texture-suppression filters (``filters``), exact FLOP counts (``flops``). Imports ``files`` only."""
