"""PyTorch side of `cargo xtask bench vae`: one ADAM step (lr 1e-3) of the MLP VAE
784-400-20 with a Bernoulli decoder (binary cross-entropy on grey levels, summed over pixels)
and the analytic KL, at batch 128, on random images in [0, 1]. Median ms over 50 timed steps
after 10 warm-up steps.

    pip install torch && python3 bench/vae_torch.py [--device cuda]
"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_device import DEVICE, sync


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.mu, self.log_var = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.dec, self.out = nn.Linear(20, 400), nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.enc(x))
        mu, log_var = self.mu(h), self.log_var(h)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.out(F.relu(self.dec(z))), mu, log_var


torch.manual_seed(0)
model = Vae().to(DEVICE)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.rand(128, 784, device=DEVICE)
times = []
for i in range(60):
    sync()
    t = time.perf_counter()
    opt.zero_grad()
    logits, mu, log_var = model(x)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
    loss = (rec + kl) / x.shape[0]
    loss.backward()
    opt.step()
    sync()
    if i >= 10:
        times.append((time.perf_counter() - t) * 1e3)
times.sort()
print(f"vae torch-{DEVICE} ms_per_step={times[len(times) // 2]:.4f} threads={torch.get_num_threads()}")
