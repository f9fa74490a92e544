"""`.npy` files written and read a block of rows at a time, never whole.

A large corpus's vectors are hundreds of MB (~130 MB of chunk and sentence vectors for the
Python docs' 27k chunks and 115k sentences, ~0.5 GB at four times that), so a build does
not hold them: `NpyAppender` writes rows as they come (a header first, its row count fixed up
in place when the file is closed) and `NpyRows` reads a range of rows with plain file
reads. Both go through the page cache, not through a memory map: pages of a map written
or read count in the process's resident memory until the kernel evicts them, which would
put the whole array back into the build's peak RSS.

The files are ordinary `.npy` (format 1.0, C order, no pickle): `np.load` reads them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

# Rows per block when copying: 16k rows of 384 float16 is 12 MB.
BLOCK_ROWS = 16_384


def _header(dtype: np.dtype, rows: int, columns: int) -> bytes:
    import io

    out = io.BytesIO()
    npy_format.write_array_header_1_0(
        out, {"descr": npy_format.dtype_to_descr(dtype), "fortran_order": False, "shape": (rows, columns)}
    )
    return out.getvalue()


class NpyAppender:
    """A 2-D `.npy` file grown by appending rows; complete once `close()` has run.

    numpy leaves room in the header for the row count to grow (GROWTH_AXIS_MAX_DIGITS), so
    the final count is written over the placeholder without moving any data.
    """

    def __init__(self, path: Path, dtype, columns: int):
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.columns = columns
        self.rows = 0
        self._file = open(self.path, "wb")
        self._header_bytes = len(_header(self.dtype, 0, columns))
        self._file.write(_header(self.dtype, 0, columns))

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)  # no copy when it already is
        if rows.ndim != 2 or rows.shape[1] != self.columns:
            raise ValueError(f"{self.path.name}: rows of shape {rows.shape}, expected (n, {self.columns})")
        self._file.write(rows.reshape(-1).view(np.uint8).data)  # the buffer itself, no copy
        self.rows += len(rows)

    def close(self) -> None:
        if self._file.closed:
            return
        header = _header(self.dtype, self.rows, self.columns)
        if len(header) != self._header_bytes:  # > 10**21 rows: cannot happen, but never corrupt
            raise ValueError(f"{self.path.name}: the header grew to {len(header)} bytes")
        self._file.seek(0)
        self._file.write(header)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def __enter__(self) -> NpyAppender:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._file.close()


def write_array(path: Path, array: np.ndarray) -> None:
    """A small array in one go (`np.save` without pickle)."""
    np.save(path, array, allow_pickle=False)


class NpyRows:
    """Read access to rows of a 2-D `.npy` file by plain reads (see the module doc)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = open(self.path, "rb")
        version = npy_format.read_magic(self._file)
        read_header = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}.get(version)
        if read_header is None:
            self._file.close()
            raise ValueError(f"{self.path.name} has .npy format version {version}, not 1.0 or 2.0")
        shape, fortran, dtype = read_header(self._file)
        if fortran or len(shape) != 2 or dtype.hasobject:
            self._file.close()
            raise ValueError(f"{self.path.name} is not a 2-D C-order array of numbers")
        self.shape = shape
        self.dtype = dtype
        self._data = self._file.tell()
        self._row_bytes = dtype.itemsize * shape[1]

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows `start:stop` as a new array."""
        if not 0 <= start <= stop <= self.shape[0]:
            raise ValueError(f"{self.path.name}: rows {start}:{stop} of {self.shape[0]}")
        self._file.seek(self._data + start * self._row_bytes)
        out = np.fromfile(self._file, dtype=self.dtype, count=(stop - start) * self.shape[1])
        if len(out) != (stop - start) * self.shape[1]:
            raise ValueError(f"{self.path.name} is shorter than its header says")
        return out.reshape(stop - start, self.shape[1])

    def blocks(self, start: int, stop: int, rows: int = BLOCK_ROWS) -> Iterator[np.ndarray]:
        """Rows `start:stop` in blocks of at most `rows`."""
        for begin in range(start, stop, rows):
            yield self.read(begin, min(stop, begin + rows))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> NpyRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
