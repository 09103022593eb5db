"""What the Array API support promises: the caller's array type, device and dtype come back,
nothing is copied to the host, and inputs from two namespaces are refused."""

import numpy as np
import pytest
import torch

import softmax_lib as sl
from softmax_lib.checks import checked_array, compare, softmax_bound_units, unit_roundoff


def every_function(z, target):
    return {
        "softmax": sl.softmax(z),
        "log_softmax": sl.log_softmax(z),
        "logsumexp": sl.logsumexp(z),
        "softmax_jacobian": sl.softmax_jacobian(z),
        "softmax_vjp": sl.softmax_vjp(z, z),
        "cross_entropy": sl.cross_entropy(z, target),
        "cross_entropy none": sl.cross_entropy(z, target, reduction="none"),
        "cross_entropy_grad": sl.cross_entropy_grad(z, target),
        "target_distribution": sl.target_distribution(z, target),
    }


def test_array_type_device_and_dtype_come_back(backend, dtype):
    z, _ = checked_array(np.random.default_rng(0).normal(size=(4, 3)), dtype, backend)
    target, _ = checked_array(np.array([0, 2, 1, 1]), dtype, backend)
    for name, out in every_function(z, target).items():
        if backend is None:
            assert isinstance(out, (np.ndarray, np.generic)), name
        else:
            assert isinstance(out, torch.Tensor), name
            assert out.device == z.device, name
        assert out.dtype == z.dtype, name


def test_same_values_as_numpy(device):
    z = np.random.default_rng(1).normal(scale=3.0, size=(5, 4))
    target = np.array([3, 0, 1, 2, 2])
    ours = every_function(torch.as_tensor(z, device=device), torch.as_tensor(target, device=device))
    for name, expected in every_function(z, target).items():
        # Same float64 algorithm on both sides, but NumPy and torch (CPU or CUDA) may sum, exp and log
        # differently: each side within the softmax bound b(K, spread) of the exact value, and the
        # Jacobian and VJP entries (built from p with a few more roundings) within 2b + K + 2; twice
        # that, normwise since outputs mix entries near 0 with entries near 1.
        units = 2 * softmax_bound_units(4, float(np.ptp(z, axis=-1).max())) + 4 + 2
        result = compare(name, ours[name], expected, 2 * units * unit_roundoff(np.float64))
        assert result.passed, str(result)


def test_python_targets_go_to_the_logits_device(device):
    z = torch.zeros(2, 3, device=device)
    for target in ([0, 2], [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]):
        grad = sl.cross_entropy_grad(z, target)
        assert grad.device == z.device and grad.dtype == z.dtype
    assert sl.cross_entropy(z[0], 1).device == z.device


def test_lists_and_scalars_are_numpy():
    assert isinstance(sl.softmax([1.0, 2.0]), np.ndarray)
    assert isinstance(sl.cross_entropy_grad([1.0, 2.0], 0), np.ndarray)


def test_two_namespaces_are_refused():
    with pytest.raises(TypeError, match="arrays from different libraries"):
        sl.softmax_vjp(torch.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="arrays from different libraries"):
        sl.cross_entropy(torch.zeros(2, 3), np.array([0, 1]))


@pytest.mark.cuda
def test_cuda_results_stay_on_the_gpu():
    # A host copy would show as a CPU tensor or a NumPy array; the result must be a CUDA tensor
    # computed from CUDA inputs, which torch only does on the device.
    z = torch.randn(64, 10, device="cuda", dtype=torch.float32)
    for name, out in every_function(z, torch.randint(0, 10, (64,), device="cuda")).items():
        assert out.is_cuda, name


def test_input_is_not_modified():
    # the functions compute new arrays; none writes into the caller's tensor
    z = torch.tensor([[1.0, 2.0, 3.0]])
    before = z.clone()
    sl.cross_entropy_grad(z, torch.tensor([1]))
    assert torch.equal(z, before)
