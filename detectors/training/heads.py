"""The trainable part of a CLIP-head judge: a small MLP on frozen, cached CLIP features (binary
heads have one logit, category heads one per class), trained full-batch in seconds."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Head(nn.Module):
    """The MLP head of a CLIP-head judge: one hidden layer with dropout."""

    def __init__(self, input_dim: int, n_out: int, hidden: int = 256, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(input_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of features."""
        return self.net(x)


def train_head(x: np.ndarray, y: np.ndarray, n_classes: int, epochs: int = 300, lr: float = 1e-3,
               hidden: int = 256, seed: int = 0) -> Head:
    """Full-batch training on cached features (seconds); binary heads have one logit."""
    torch.manual_seed(seed)
    n_out = 1 if n_classes == 2 else n_classes
    head = Head(x.shape[1], n_out, hidden)
    xt, yt = torch.from_numpy(x).float(), torch.from_numpy(y)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    if n_out == 1:
        pos = max(float(yt.sum()), 1.0)
        loss_fn: nn.Module = nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(yt) - pos) / pos))
        target = yt.float().unsqueeze(1)
    else:
        loss_fn, target = nn.CrossEntropyLoss(), yt.long()
    head.train()
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(head(xt), target)
        loss.backward()
        opt.step()
    return head.eval()


def head_probs(head: Head, x: np.ndarray) -> np.ndarray:
    """(N,) P(present) for binary heads, (N, K) class probabilities for multi-class ones."""
    with torch.no_grad():
        logits = head(torch.from_numpy(x).float())
    if logits.shape[1] == 1:
        return torch.sigmoid(logits[:, 0]).numpy()
    return torch.softmax(logits, dim=1).numpy()


def presence_score(probs: np.ndarray) -> np.ndarray:
    """P(concept present): the binary probability, or 1 - P(label 0) for a category judge (label 0 is
    the category's no-concept class)."""
    return probs if probs.ndim == 1 else 1.0 - probs[:, 0]
