"""clusopt Python package."""

from .errors import (ArgumentError, ArtifactError, ClusoptError, CompileError,
                     UnsupportedTargetError)
from .version import __version__
