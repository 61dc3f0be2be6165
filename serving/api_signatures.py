"""Which SignatureDef a Classify or Regress request runs, checked as TF Serving checks it.

TF Serving (classifier.cc, regressor.cc) answers an unknown signature name with INVALID_ARGUMENT,
and by default (`--enable_signature_method_name_check=false`, server.h) does not look at the
signature's method name: TF2's saver marks every signature "predict", and a signature shaped for
the API (one input `inputs`; `classes` and/or `scores`, or `outputs`) serves it whatever its method
name. The messages are TF Serving's, with a hint naming the signature that would fit.

The method names are models/signatures.py's (tests/e2e/test_serving_tf_contract.py checks they
agree); importing that module would load tensorflow_transform and tf_keras into the server
(~0.4 s and ~40 MB) for two strings.
"""
import grpc
from google.protobuf import text_format

from serving.loaded_version import ServingError

CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
_INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _shape_error(signature_def, method: str) -> str:
    """What TF Serving's PreProcessClassification / PreProcessRegression say is wrong with
    `signature_def` for `method`; "" when it fits."""
    inputs, outputs = signature_def.inputs, signature_def.outputs
    kind = "classification" if method == CLASSIFY_METHOD else "regression"
    if len(inputs) != 1:
        return "Expected one input Tensor."
    if method == CLASSIFY_METHOD and len(outputs) not in (1, 2):
        return f"Expected one or two output Tensors, found {len(outputs)}"
    if method == REGRESS_METHOD and len(outputs) != 1:
        return "Expected one output Tensor."
    if "inputs" not in inputs:
        return f"No {kind} inputs found in SignatureDef: {_described(signature_def)}"
    if method == CLASSIFY_METHOD and not ("classes" in outputs or "scores" in outputs):
        return ('Expected classification signature outputs to contain at least one of "classes" '
                f'or "scores". Signature was: {_described(signature_def)}')
    if method == REGRESS_METHOD and "outputs" not in outputs:
        return f"No regression outputs found in SignatureDef: {_described(signature_def)}"
    return ""


def _described(signature_def) -> str:
    """The SignatureDef as TF Serving prints it in its errors: built only for an error, as it costs
    more than the whole check (~0.1 ms)."""
    return text_format.MessageToString(signature_def, as_one_line=True)


def checked(signature_defs, name: str, method: str, named: bool):
    """The SignatureDef `name` for the Classify or Regress API (`method`), or the ServingError TF
    Serving answers. `named`: the request gave the name (else it is serving_default's)."""
    signature_def = signature_defs.get(name)
    if signature_def is None:
        raise ServingError(_INVALID, f"No signature was found with the name: {name}")
    error = _shape_error(signature_def, method)
    if error:
        verb = method.split("/")[-1]
        fitting = sorted(key for key, other in signature_defs.items()
                         if not _shape_error(other, method))
        if fitting and not named:
            error += (f"; this model's {verb} signature is {fitting[0]!r}: give it as the "
                      "signature_name")
        elif not fitting:
            error += (f"; this model has no {verb} signature (its signatures: "
                      f"{', '.join(sorted(signature_defs))})")
        raise ServingError(_INVALID, error)
    return signature_def
