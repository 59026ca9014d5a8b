"""Neural-network building blocks: Module, Parameter, layers, functional, init, utils."""
from .parameter import Parameter, Buffer, UninitializedParameter
from .modules import *  # noqa: F401,F403
from .modules import Module
from . import functional, init, utils  # noqa: F401
