"""The name notebooks import, `from autograder.hidden import hidden_cases` (it runs in the kernel:
see autograder.in_kernel.cases)."""

from autograder.in_kernel.cases import hidden_cases

__all__ = ["hidden_cases"]
