"""Files, the bottom layer every stage uses: atomic writes (``atomic``), locks (``locking``), TSV
tables (``tsv``), paths made from data kept inside their folder (``safepath``), file hashes
(``hashing``), listing and saving image files (``imagefiles``), an S3 prefix used like a folder
(``objectstore``). Imports nothing of the package."""
