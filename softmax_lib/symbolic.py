"""SymPy helpers for deriving softmax identities with a symbolic number of classes K.

Only the book's derivations use these; importing softmax_lib does not import SymPy (the `book`
extra installs it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import sympy as sp

__all__ = ["SymbolicSoftmax", "symbolic_softmax", "class_indices", "evaluate_delta_sums"]


class SymbolicSoftmax(NamedTuple):
    """The softmax over K symbolic classes, as the chapters derive with it (made by `symbolic_softmax`).

    Parameters
    ----------
    K : sympy.Symbol
        The number of classes, a positive integer.
    z : sympy.IndexedBase
        The logits z[1], ..., z[K], real.
    S : sympy.Sum
        The normalizer Σ_{m=1}^{K} exp(z[m]).
    p : callable
        p(i) = exp(z[i]) / S, the probability of class i.

    Examples
    --------
    >>> softmax = symbolic_softmax()
    >>> softmax.K, softmax.z
    (K, z)
    """

    K: sp.Symbol  #: the number of classes, a positive integer
    z: sp.IndexedBase  #: the logits z[1], ..., z[K], real
    S: sp.Sum  #: the normalizer Σ_{m=1}^{K} exp(z[m])
    p: Callable[[sp.Expr], sp.Expr]  #: p(i) = exp(z[i]) / S, the probability of class i


def symbolic_softmax() -> SymbolicSoftmax:
    """K classes, real logits z[m], the normalizer S and the probabilities p(i) = exp(z[i]) / S.

    One setup for every derivation, with one set of assumptions: K a positive integer, the
    logits real, the class indices integers (make them with `class_indices`).

    Returns
    -------
    SymbolicSoftmax
        The named tuple (K, z, S, p).

    Examples
    --------
    >>> K, z, S, p = symbolic_softmax()
    >>> S
    Sum(exp(z[m]), (m, 1, K))
    >>> i, j = class_indices("i j")
    >>> p(i)
    exp(z[i])/Sum(exp(z[m]), (m, 1, K))
    >>> z[i].is_real, K.is_positive
    (True, True)
    """
    K = sp.Symbol("K", integer=True, positive=True)
    m = sp.Symbol("m", integer=True)
    z = sp.IndexedBase("z", real=True)
    S = sp.Sum(sp.exp(z[m]), (m, 1, K))

    def p(index: sp.Expr) -> sp.Expr:
        """The softmax probability of class `index`, with K and the logits symbolic."""
        return sp.exp(z[index]) / S

    return SymbolicSoftmax(K, z, S, p)


def class_indices(names: str) -> tuple[sp.Symbol, ...]:
    """Integer symbols for class indices, e.g. `i, j = class_indices("i j")`.

    Parameters
    ----------
    names : str
        Symbol names separated by spaces or commas.

    Returns
    -------
    tuple of sympy.Symbol
        One integer symbol per name.

    Examples
    --------
    >>> class_indices("i j")
    (i, j)
    """
    return sp.symbols(names, integer=True, seq=True)


def evaluate_delta_sums(expr: sp.Expr, index: sp.Symbol, upper: sp.Symbol) -> sp.Expr:
    """Evaluate the sums Σ_m δ_{index,m} f(m) for m = 1..upper in `expr`, giving f(index).

    SymPy answers with Piecewise((f(index), 1 ≤ index ≤ upper), (0, True)). We check that each
    Piecewise has exactly that condition and keep its first branch: the derivation is for an
    index inside the range, and that is asserted here rather than assumed.

    Parameters
    ----------
    expr : sympy.Expr
        An expression holding such sums.
    index : sympy.Symbol
        The index of the Kronecker deltas.
    upper : sympy.Symbol
        The sums' upper limit (K).

    Returns
    -------
    sympy.Expr
        `expr` with each sum replaced by its term at m = index.

    Raises
    ------
    ValueError
        A case split of another form.

    Examples
    --------
    >>> import sympy as sp
    >>> K, z, S, p = symbolic_softmax()
    >>> i, m = class_indices("i m")
    >>> evaluate_delta_sums(sp.Sum(sp.KroneckerDelta(i, m) * z[m], (m, 1, K)), i, K)
    z[i]
    """
    done = expr.replace(lambda e: isinstance(e, sp.Sum), lambda e: e.doit())
    for piece in list(done.atoms(sp.Piecewise)):
        (value, condition), (otherwise_value, otherwise) = piece.args
        if condition != sp.And(upper >= index, index >= 1) or otherwise != sp.true:
            raise ValueError(f"unexpected case split {piece}: not an index-in-range condition on {index}")
        done = done.subs(piece, value)
    return done
