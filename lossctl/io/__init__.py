"""Files -> float64 arrays, in aligned chunks of rows.

:func:`open_source` opens one input (a path, ``file.npz:key``, or ``-`` for
CSV on standard input); :func:`read_chunks` reads predictions, labels and
optional weights side by side, checks their shapes agree, and yields
:class:`~lossctl.chunk.Chunk` s. Nothing here prints or exits: problems
are raised as :class:`~lossctl.errors.InputError` naming the file.
"""

from .pairing import read_chunks
from .readers import DEFAULT_CHUNK_ROWS, Source, open_source, read_array

__all__ = ["DEFAULT_CHUNK_ROWS", "Source", "open_source", "read_array", "read_chunks"]
