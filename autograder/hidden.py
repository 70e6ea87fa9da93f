"""The name notebooks import, `from autograder.hidden import hidden_cases` (it runs in the kernel:
see autograder.in_kernel.hidden)."""

from autograder.in_kernel.hidden import hidden_cases

__all__ = ["hidden_cases"]
