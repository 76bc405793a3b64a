"""Exceptions raised by the clusopt Python API.

Every failure the API can detect is one of these, with a message that names
the argument, attribute, file or CPU feature at fault; none is a crash.
"""


class ClusoptError(Exception):
    """Base class of every clusopt error."""


class ArgumentError(ClusoptError, ValueError):
    """An argument or attribute is invalid: wrong dtype, rank, dim or value."""


class CompileError(ClusoptError):
    """clusopt-compile refused the source or failed; carries its message."""


class UnsupportedTargetError(ClusoptError):
    """An artifact was built for a CPU or GPU this machine cannot run."""


class ArtifactError(ClusoptError):
    """A compiled library, manifest or model file is missing or malformed."""


class UnsupportedOpError(ClusoptError):
    """A model uses an op the importer cannot compile; names the op and
    the model's source line."""


class ImporterError(ClusoptError):
    """torch.export or torch-mlir failed on a model; carries the reason."""
