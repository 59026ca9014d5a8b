"""Utilities on top of the core library: data loading (``chainrule.utils.data``) and activation
checkpointing (``chainrule.utils.checkpoint``)."""
