"""PyTorch side of `cargo xtask bench ddpm`: one training step of gdl's default DDPM U-Net
(gdl_diffusion::unet, channels 32/64/64, time embedding 128, group norm 8, self-attention at
7 x 7; 0.8 M parameters) at batch 64 -- t ~ U{1..1000}, eps ~ N(0, I), x_t = sqrt(abar) x_0 +
sqrt(1 - abar) eps, loss mean w (eps_hat - eps)^2 with the Min-SNR-5 weight w = 5 / max(SNR, 5), Adam (lr 1e-3) with gradient-norm clipping at 1
-- on random images in [-1, 1], and one evaluation of the network on 100 digits without
gradients (one sampler step). Median ms over 10 timed steps after 3 warm-up steps. `--device
cuda` runs it on a GPU.

    pip install torch && python3 bench/ddpm_torch.py
"""
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_device import DEVICE, sync


def conv3(i, o, stride=1):
    return nn.Conv2d(i, o, 3, stride, 1)


class ResBlock(nn.Module):
    def __init__(self, i, o, temb, groups):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, i), conv3(i, o)
        self.time = nn.Linear(temb, o)
        self.norm2, self.conv2 = nn.GroupNorm(groups, o), conv3(o, o)
        self.skip = nn.Conv2d(i, o, 1, bias=False) if i != o else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class SelfAttention(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.norm, self.qkv, self.out = nn.GroupNorm(groups, c), nn.Linear(c, 3 * c), nn.Linear(c, c)

    def forward(self, x):
        n, c, h, w = x.shape
        tokens = self.norm(x).reshape(n, c, h * w).transpose(1, 2)
        q, k, v = self.qkv(tokens).split(c, dim=2)
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=2)
        return x + self.out(weights @ v).transpose(1, 2).reshape(n, c, h, w)


class UNet(nn.Module):
    def __init__(self, c=(32, 64, 64), temb=128, groups=8):
        super().__init__()
        self.temb = temb
        self.time_in, self.time_out = nn.Linear(temb, temb), nn.Linear(temb, temb)
        self.conv_in = conv3(1, c[0])
        L = len(c)
        self.down = nn.ModuleList(ResBlock(c[l - 1] if l else c[0], c[l], temb, groups) for l in range(L))
        self.downsample = nn.ModuleList(conv3(c[l], c[l], 2) for l in range(L - 1))
        self.middle = nn.ModuleList([ResBlock(c[-1], c[-1], temb, groups), ResBlock(c[-1], c[-1], temb, groups)])
        self.attention = SelfAttention(c[-1], groups)
        self.up = nn.ModuleList(ResBlock((c[l] if l + 1 == L else c[l + 1]) + c[l], c[l], temb, groups) for l in range(L))
        self.upsample = nn.ModuleList(conv3(c[l], c[l]) for l in range(1, L))
        self.norm_out, self.conv_out = nn.GroupNorm(groups, c[0]), conv3(c[0], 1)

    def embed(self, t):
        half = self.temb // 2
        omega = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
        angles = t[:, None] * omega[None]
        return torch.cat([angles.sin(), angles.cos()], 1)

    def forward(self, x, t):
        temb = F.silu(self.time_out(F.silu(self.time_in(self.embed(t)))))
        h, skips = self.conv_in(x), []
        for l, block in enumerate(self.down):
            h = block(h, temb)
            skips.append(h)
            if l < len(self.downsample):
                h = self.downsample[l](h)
        h = self.middle[1](self.attention(self.middle[0](h, temb)), temb)
        for l in reversed(range(len(self.up))):
            h = self.up[l](torch.cat([h, skips.pop()], 1), temb)
            if l > 0:
                h = self.upsample[l - 1](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


torch.manual_seed(0)
net = UNet().to(DEVICE)
params = sum(p.numel() for p in net.parameters())
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
abar = torch.cumprod(1 - betas, 0).float().to(DEVICE)
x0 = torch.rand(64, 1, 28, 28, device=DEVICE) * 2 - 1
times = []
for i in range(13):
    sync()
    start = time.perf_counter()
    t = torch.randint(1, 1001, (64,), device=DEVICE)
    a = abar[t - 1].sqrt()[:, None, None, None]
    b = (1 - abar[t - 1]).sqrt()[:, None, None, None]
    eps = torch.randn_like(x0)
    w = 5.0 / (a * a / (b * b)).clamp(min=5.0)  # Min-SNR-5: gamma / max(SNR, gamma)
    loss = (w * (net(a * x0 + b * eps, t.float()) - eps).pow(2)).mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    loss.item()  # gdl reads the loss every step (the NaN guard)
    sync()
    if i >= 3:
        times.append((time.perf_counter() - start) * 1e3)
times.sort()
evals = []
x = torch.randn(100, 1, 28, 28, device=DEVICE)
t = torch.full((100,), 500.0, device=DEVICE)
with torch.no_grad():
    for i in range(7):
        sync()
        start = time.perf_counter()
        net(x, t)
        sync()
        if i >= 2:
            evals.append((time.perf_counter() - start) * 1e3)
evals.sort()
e = evals[len(evals) // 2]
print(
    f"ddpm torch-{DEVICE} ms_per_step={times[len(times) // 2]:.4f} eval_100_ms={e:.4f} "
    f"ddim50_100_s={50 * e / 1e3:.3f} ancestral1000_100_s={1000 * e / 1e3:.3f} "
    f"params={params} threads={torch.get_num_threads()}"
)
