"""Import a running cluster: kubectl output plus an overlay -> a fastpath spec (`kubectl`)."""

from .kubectl import Imported, KubectlImportError, import_kubectl  # noqa: F401
from .overlay import Overlay, load_overlay  # noqa: F401
