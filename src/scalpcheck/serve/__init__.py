"""The serving core: photos in, assessments out, from published model bundles, without torch.

Imports only numpy, Pillow, PyYAML and ONNX Runtime, so a web worker starts fast and stays small.
"""

from scalpcheck.serve.assess import Assessment, Assessor

__all__ = ["Assessment", "Assessor"]
