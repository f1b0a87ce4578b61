"""PyTorch layers of IABN: ``InPlaceABN`` (in-place, saves only z),
``ABN`` (standard BN + activation) and the functional ``inplace_abn``."""

from .functional import inplace_abn
from .convert import ConversionError, convert, revert
from .nn import ABN, InPlaceABN, InPlaceABNStoreY, InPlaceABNSync
from .sync import inplace_abn_sync
from .joint import backend, explain

__all__ = ["ABN", "ConversionError", "InPlaceABN", "InPlaceABNStoreY",
           "InPlaceABNSync", "backend", "explain",
           "convert", "inplace_abn", "inplace_abn_sync", "revert"]
