"""Optimizers (torch.optim)."""
