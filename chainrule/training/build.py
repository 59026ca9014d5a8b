"""Build the model, optimizer and learning-rate scheduler that a ``TrainConfig`` describes."""
from .. import optim
from ..models import get_model

__all__ = ["build_model", "build_optimizer", "build_scheduler"]


def build_model(config, info):
    """The model of ``config.model`` sized for the data described by ``info`` (a DataInfo)."""
    name, n = config.model, len(info.classes)
    if name == "mlp":
        return get_model(name, in_shape=(info.in_channels, info.image_size, info.image_size),
                         num_classes=n)
    if name == "lenet":
        return get_model(name, in_channels=info.in_channels, num_classes=n,
                         image_size=info.image_size)
    if name == "resnet":
        return get_model(name, in_channels=info.in_channels, num_classes=n)
    return get_model(name, in_channels=info.in_channels, image_size=info.image_size)


def build_optimizer(config, params):
    name, lr, wd = config.optimizer, config.lr, config.weight_decay
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd,
                         nesterov=config.nesterov and config.momentum > 0)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd or 0.01)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    raise ValueError(f"unknown optimizer {name!r}")


def build_scheduler(config, optimizer, steps_per_epoch):
    """A per-step scheduler over ``config.epochs`` epochs (None for ``'none'``)."""
    name, total = config.scheduler, max(1, config.epochs * steps_per_epoch)
    if name == "none":
        return None
    if name == "onecycle":
        # cycle_momentum would fight RMSprop/SGD momentum settings less predictably; keep it off
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total,
                                             pct_start=0.25, cycle_momentum=False)
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if name == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(1, total // 3), gamma=0.1)
    raise ValueError(f"unknown scheduler {name!r}")
