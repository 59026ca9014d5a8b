"""Reference models, built from ``chainrule.nn`` layers, and a registry to build them by name.

    from chainrule.models import get_model, list_models
    list_models()                                     # ['autoencoder', 'lenet', 'mlp', 'resnet']
    model = get_model("lenet", in_channels=1, num_classes=10)
"""
from .autoencoder import ConvAutoencoder
from .lenet import LeNet
from .mlp import MLP
from .resnet import BasicBlock, ResNet
from .language import CharLSTM, CharTransformer, generate

__all__ = ["MLP", "LeNet", "ResNet", "BasicBlock", "ConvAutoencoder", "get_model",
           "list_models", "MODELS"]

MODELS = {"mlp": MLP, "lenet": LeNet, "resnet": ResNet, "autoencoder": ConvAutoencoder}
__all__ += ["CharLSTM", "CharTransformer", "generate"]
MODELS.update({"char-lstm": CharLSTM, "char-transformer": CharTransformer})


def list_models():
    """The registered model names, sorted."""
    return sorted(MODELS)


def get_model(name, **kwargs):
    """Build the registered model ``name`` with keyword arguments for its constructor.

    Raises:
        ValueError: ``name`` is not registered (the message lists the names that are).
    """
    try:
        cls = MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; choose one of: "
                         f"{', '.join(list_models())}") from None
    return cls(**kwargs)
