"""Writes the fuzz target's starting inputs into seeds/ (run from this directory)."""
import gzip
import os
import struct


def images(n, rows, cols):
    return struct.pack(">IIII", 0x803, n, rows, cols) + bytes((i * 37) % 256 for i in range(n * rows * cols))


def labels(values):
    return struct.pack(">II", 0x801, len(values)) + bytes(values)


files = {
    "images-2x28x28": images(2, 28, 28),
    "images-3x2x2": images(3, 2, 2),
    "labels-5": labels([0, 3, 9, 1, 7]),
    "labels-bad-class": labels([0, 12]),
    "images-truncated": images(2, 28, 28)[:100],
    "images-trailing": images(1, 2, 2) + b"\x00",
    "empty-images": images(0, 28, 28),
}
os.makedirs("seeds", exist_ok=True)
for name, data in files.items():
    open(os.path.join("seeds", name), "wb").write(data)
    open(os.path.join("seeds", name + ".gz"), "wb").write(gzip.compress(data, mtime=0))
open(os.path.join("seeds", "gzip-cut.gz"), "wb").write(gzip.compress(images(1, 28, 28), mtime=0)[:30])
