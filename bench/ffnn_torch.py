"""PyTorch side of `cargo xtask bench mlp cnn`: the same training steps on the same 2 cores.

mlp: one ADAM step (lr 1e-3) of the MLP 784-512-256-10 (ReLU, cross-entropy) at batch 128.
cnn: one ADAM step of PyTorch's MNIST example CNN (conv 32 3x3, conv 64 3x3, max-pool 2,
     dropout 0.25, fc 128, dropout 0.5, fc 10) at batch 64.
Inputs are random images in [0, 1] and random labels (the step time does not depend on the
pixels). Median ms over 50 timed steps after 10 warm-up steps, like the Rust harness.

    pip install torch && python3 bench/ffnn_torch.py [mlp] [cnn] [--device cuda]
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_device import DEVICE, sync


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, 1), nn.Conv2d(32, 64, 3, 1)
        self.dropout1, self.dropout2 = nn.Dropout(0.25), nn.Dropout(0.5)
        self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = torch.flatten(self.dropout1(F.max_pool2d(x, 2)), 1)
        return self.fc2(self.dropout2(F.relu(self.fc1(x))))


def bench(name, model, batch, warmup=10, steps=50):
    torch.manual_seed(0)
    model = model.to(DEVICE)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, 28, 28, device=DEVICE)
    y = torch.randint(0, 10, (batch,), device=DEVICE)
    times = []
    for i in range(warmup + steps):
        sync()
        t = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sync()
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    print(f"{name} torch-{DEVICE} ms_per_step={times[len(times) // 2]:.4f} threads={torch.get_num_threads()}")


which = [a for a in sys.argv[1:] if a in ("mlp", "cnn")] or ["mlp", "cnn"]
if "mlp" in which:
    bench("mlp", Mlp(), 128)
if "cnn" in which:
    bench("cnn", Cnn(), 64)
