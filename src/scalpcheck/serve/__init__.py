"""The serving core: photos in, assessments out, from published model bundles, without torch.

Imports only numpy, Pillow, PyYAML, pydantic and ONNX Runtime, so a web worker starts fast and stays small.
"""

from scalpcheck.serve.assess import Assessor, interpret
from scalpcheck.serve.result import AssessmentResult

__all__ = ["AssessmentResult", "Assessor", "interpret"]
