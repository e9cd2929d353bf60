"""scalpcheck: scalp condition and hair-loss stage assessment from photos."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scalpcheck")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
