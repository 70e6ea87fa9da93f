"""course_lib: the numpy engine of the llm-foundations course."""
