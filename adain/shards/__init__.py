"""The on-disk shard format, read by the stages that write shards and by ``adain.data``: HDF5
shards of images and their metadata (``format``) and the parts of a shard being stylized
(``checkpoint``). Imports ``files`` only."""
