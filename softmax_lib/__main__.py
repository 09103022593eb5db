"""`python -m softmax_lib` runs the verification command, as `python -m softmax_lib.verify` does."""

import sys

from .verify import main

sys.exit(main())
