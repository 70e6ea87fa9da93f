"""autograder: release, collect and grade a class's notebooks safely on top of nbgrader."""
