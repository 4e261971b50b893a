"""PyTorch side of `cargo xtask bench dcgan`: one training step of the DCGAN for 28 x 28
digits at batch 64 -- one discriminator update on 64 real and 64 generated images, then one
generator update on 64 fresh samples; non-saturating loss, Adam (lr 2e-4, beta1 0.5) -- on random
images in [-1, 1]. The networks are gdl's defaults (gdl_gan::model): G z(100) -> fc 7*7*256
(no bias) -> BN, leaky ReLU -> convT 128 5x5 s1 -> BN, leaky -> convT 64 5x5 s2 -> BN, leaky
-> convT 1 5x5 s2, tanh; D conv 64 5x5 s2 -> leaky, dropout 0.3 -> conv 128 5x5 s2 -> leaky,
dropout 0.3 -> linear 1. Median ms over 10 timed steps after 3 warm-up steps.

    pip install torch && python3 bench/dcgan_torch.py   (--device cuda: on a GPU)
"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_device import DEVICE, sync


class Generator(nn.Module):
    def __init__(self, latent=100):
        super().__init__()
        self.fc = nn.Linear(latent, 7 * 7 * 256, bias=False)
        self.bn0, self.bn1, self.bn2 = nn.BatchNorm2d(256), nn.BatchNorm2d(128), nn.BatchNorm2d(64)
        self.d1 = nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False)
        self.d2 = nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False)
        self.d3 = nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1)

    def forward(self, z):
        x = F.leaky_relu(self.bn0(self.fc(z).view(-1, 256, 7, 7)), 0.2)
        x = F.leaky_relu(self.bn1(self.d1(x)), 0.2)
        x = F.leaky_relu(self.bn2(self.d2(x)), 0.2)
        return torch.tanh(self.d3(x))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 64, 5, 2, 2), nn.Conv2d(64, 128, 5, 2, 2)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x):
        x = self.drop(F.leaky_relu(self.c1(x), 0.2))
        x = self.drop(F.leaky_relu(self.c2(x), 0.2))
        return self.head(x.flatten(1)).squeeze(1)


torch.manual_seed(0)
g, d = Generator().to(DEVICE), Discriminator().to(DEVICE)
g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
x = torch.rand(64, 1, 28, 28, device=DEVICE) * 2 - 1
times = []
for i in range(13):
    sync()
    t = time.perf_counter()
    # D step: -log sigmoid(l_real) - log sigmoid(-l_fake)
    d_opt.zero_grad()
    fake = g(torch.randn(64, 100, device=DEVICE)).detach()
    loss_d = F.softplus(-d(x)).mean() + F.softplus(d(fake)).mean()
    loss_d.backward()
    d_opt.step()
    # G step: -log sigmoid(l_fake)
    g_opt.zero_grad()
    loss_g = F.softplus(-d(g(torch.randn(64, 100, device=DEVICE)))).mean()
    loss_g.backward()
    g_opt.step()
    sync()
    if i >= 3:
        times.append((time.perf_counter() - t) * 1e3)
times.sort()
print(f"dcgan torch-{DEVICE} ms_per_step={times[len(times) // 2]:.4f} threads={torch.get_num_threads()}")
