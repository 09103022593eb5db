"""SymPy helpers for deriving softmax identities with a symbolic number of classes K.

Only the book's derivations use these; importing softmax_lib does not import SymPy.
"""

from __future__ import annotations

import sympy as sp


def evaluate_delta_sums(expr: sp.Expr, index: sp.Symbol, upper: sp.Symbol) -> sp.Expr:
    """Evaluate the sums Σ_m δ_{index,m} f(m) for m = 1..upper in `expr`, giving f(index).

    SymPy answers with Piecewise((f(index), 1 ≤ index ≤ upper), (0, True)). We check that each
    Piecewise has exactly that condition and keep its first branch: the derivation is for an
    index inside the range, and that is asserted here rather than assumed.
    """
    done = expr.replace(lambda e: isinstance(e, sp.Sum), lambda e: e.doit())
    for piece in list(done.atoms(sp.Piecewise)):
        (value, condition), (otherwise_value, otherwise) = piece.args
        if condition != sp.And(upper >= index, index >= 1) or otherwise != sp.true:
            raise ValueError(f"unexpected case split {piece}: not an index-in-range condition on {index}")
        done = done.subs(piece, value)
    return done
