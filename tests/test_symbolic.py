"""The book's symbolic setup: the softmax Jacobian and the loss gradient derived with K symbolic."""

import sympy as sp

from softmax_lib.symbolic import class_indices, evaluate_delta_sums, symbolic_softmax


def test_softmax_jacobian_is_p_i_times_delta_minus_p_j():
    K, z, S, p = symbolic_softmax()
    i, j = class_indices("i j")
    derivative = evaluate_delta_sums(sp.diff(p(i), z[j]), j, K)
    assert sp.simplify(derivative - p(i) * (sp.KroneckerDelta(i, j) - p(j))) == 0
    # a plausible wrong answer, the diagonal alone, is rejected
    assert sp.simplify(derivative - p(i) * sp.KroneckerDelta(i, j)) != 0


def test_one_hot_loss_gradient_is_p_minus_y():
    K, z, S, p = symbolic_softmax()
    c, j = class_indices("c j")
    gradient = evaluate_delta_sums(sp.diff(-z[c] + sp.log(S), z[j]), j, K)
    assert sp.simplify(gradient - (p(j) - sp.KroneckerDelta(c, j))) == 0
