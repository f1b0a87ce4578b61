"""PyTorch layers of IABN: ``InPlaceABN`` (in-place, saves only z),
``ABN`` (standard BN + activation) and the functional ``inplace_abn``."""

from .functional import inplace_abn
from .convert import convert
from .nn import ABN, InPlaceABN

__all__ = ["ABN", "InPlaceABN", "convert", "inplace_abn"]
