"""Parameter initialisation (torch.nn.init)."""
