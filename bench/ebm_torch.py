"""PyTorch (and scikit-learn) side of `cargo xtask bench rbm ebm`.

rbm: one CD-1 update of a binary RBM 784 x 256 at batch 64 (mean-field p(h|x) statistics,
     momentum 0.5, weight decay 2e-4, learning rate 0.05), as gdl's ContrastiveDivergence does;
     and scikit-learn's BernoulliRBM.partial_fit on the same batch (its own PCD-1 step).
ebm: one training step of the Langevin EBM: 60 SGLD steps (step 10, noise 0.005, clip 0.03)
     from a replay buffer, the contrastive loss with alpha 0.1, one ADAM step (1e-4, betas
     (0, 0.999)), at batch 64, the network of Lippe's UvA tutorial with SiLU.
Median ms over the timed steps after warm-up.

    pip install torch scikit-learn && python3 bench/ebm_torch.py [--device cuda]
"""
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_device import DEVICE, sync


def median_ms(step, warmup, steps):
    times = []
    for i in range(warmup + steps):
        sync()
        t = time.perf_counter()
        step()
        sync()
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2]


torch.manual_seed(0)
x = (torch.rand(64, 784, device=DEVICE) < 0.15).float()

# --- rbm: CD-1 with momentum and weight decay
W = 0.01 * torch.randn(784, 256, device=DEVICE)
a, b = torch.zeros(784, device=DEVICE), torch.zeros(256, device=DEVICE)
vel = [torch.zeros_like(W), torch.zeros_like(a), torch.zeros_like(b)]


def cd1():
    global W, a, b
    ph = torch.sigmoid(x @ W + b)
    h = (torch.rand_like(ph) < ph).float()
    px = torch.sigmoid(h @ W.t() + a)
    xn = (torch.rand_like(px) < px).float()
    phn = torch.sigmoid(xn @ W + b)
    n = x.shape[0]
    g = [(x.t() @ ph - xn.t() @ phn) / n - 2e-4 * W, (x - xn).mean(0), (ph - phn).mean(0)]
    for v, gi in zip(vel, g):
        v.mul_(0.5).add_(0.05 * gi)
    W, a, b = W + vel[0], a + vel[1], b + vel[2]


print(f"rbm torch-{DEVICE} ms_per_step={median_ms(cd1, 20, 200):.4f} threads={torch.get_num_threads()}")

try:
    if DEVICE != "cpu":
        raise ImportError
    from sklearn.neural_network import BernoulliRBM

    rbm = BernoulliRBM(n_components=256, learning_rate=0.05, batch_size=64, random_state=0)
    xn = x.cpu().numpy()
    print(f"rbm sklearn ms_per_step={median_ms(lambda: rbm.partial_fit(xn), 20, 200):.4f}")
except ImportError:
    print("rbm sklearn skipped: pip install scikit-learn (CPU only)")


# --- ebm: Langevin EBM training step
class EnergyNet(nn.Module):
    def __init__(self, c=16, hidden=64):
        super().__init__()
        self.convs = nn.ModuleList([
            nn.Conv2d(1, c, 5, stride=2, padding=4),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),
            nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1),
            nn.Conv2d(4 * c, 4 * c, 3, stride=2, padding=1),
        ])
        self.fc, self.out = nn.Linear(4 * c * 9, hidden), nn.Linear(hidden, 1)

    def forward(self, x):
        for conv in self.convs:
            x = F.silu(conv(x))
        return self.out(F.silu(self.fc(x.flatten(1)))).squeeze(-1)


net = EnergyNet().to(DEVICE)
opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.0, 0.999))
x_pos = torch.rand(64, 1, 32, 32, device=DEVICE) * 2 - 1
buffer = [torch.rand(1, 32, 32, device=DEVICE) * 2 - 1 for _ in range(64)]
random.seed(0)


def sgld(x, steps=60, step_size=10.0, noise=0.005, clip=0.03):
    for p in net.parameters():
        p.requires_grad_(False)
    x = x.detach().requires_grad_(True)
    for _ in range(steps):
        x.data.add_(noise * torch.randn_like(x))
        net(x).sum().backward()
        x.grad.data.clamp_(-clip, clip)
        x.data.add_(-step_size * x.grad.data)
        x.grad.detach_()
        x.grad.zero_()
        x.data.clamp_(-1.0, 1.0)
    for p in net.parameters():
        p.requires_grad_(True)
    return x.detach()


def ebm_step():
    n_new = np.random.binomial(64, 0.05)
    reused = random.choices(buffer, k=64 - n_new)
    starts = torch.cat([torch.rand(n_new, 1, 32, 32, device=DEVICE) * 2 - 1, torch.stack(reused)])
    x_neg = sgld(starts)
    buffer[:0] = list(x_neg)
    del buffer[8192:]
    xp = (x_pos + 0.005 * torch.randn_like(x_pos)).clamp(-1, 1)
    e = net(torch.cat([xp, x_neg]))
    e_pos, e_neg = e[:64], e[64:]
    loss = e_pos.mean() - e_neg.mean() + 0.1 * (e_pos ** 2 + e_neg ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


print(f"ebm torch-{DEVICE} ms_per_step={median_ms(ebm_step, 2, 8):.4f}")
