"""The grader's side of the trust boundary: grading one notebook (stages in grader.pipeline).

Everything here runs in the grader's own process; none of it is visible inside the sandbox.
"""
