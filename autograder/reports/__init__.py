"""Reporting: the gradebook, the CSV export and the feedback pages, built from result records.

Reports read result files, the course folder, the gradebook and (for the visible checks'
code) the plan; they never import the pool, the kernel or the sandbox.
"""
