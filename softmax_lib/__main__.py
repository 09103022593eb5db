"""`python -m softmax_lib` runs the verification command, as `python -m softmax_lib.verify` does."""

import sys

from ._extras import require_extra

require_extra("verify", "python -m softmax_lib")

from .verify import main  # noqa: E402  (only once torch and mpmath are known to be there)

sys.exit(main())
