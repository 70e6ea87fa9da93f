"""What runs inside the student's sandboxed kernel: the kernel's start-up and `hidden_cases`.

Nothing here is trusted by the grader. This package imports only `autograder.protocol` (the
format of what it sends out), and it is the only part of `autograder` the sandbox shows.
"""


class ForbiddenCall(NotImplementedError):
    """Raised, while grading, by a course_lib function the exercise asks the student to write."""
