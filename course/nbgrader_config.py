# nbgrader configuration for the llm-foundations course folder (this folder is the course root).
# `llmf-grade` reads it too; grading itself is done by `llmf-grade grade`, not `nbgrader autograde`.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "llm-foundations"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# If an instructor does run `nbgrader autograde`: restore deleted test cells, give each cell
# time to run under load, and do not show hidden tests in nbgrader's own feedback.
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 60
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
