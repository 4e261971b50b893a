"""The device every PyTorch script in bench/ runs on (`--device cuda`; the CPU by default), and
the barrier each timing needs there: CUDA runs asynchronously, so the clock is read only after
`sync()`."""
import sys

import torch

DEVICE = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cpu"


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()
