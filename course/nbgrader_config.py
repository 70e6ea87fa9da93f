# nbgrader configuration for the llm-foundations course folder (this folder is the course root).
# `llmf-grade` reads it too; grading itself is done by `llmf-grade grade`, not `nbgrader autograde`.
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from autograder import formgrader_html, formgrader_math
from autograder.release import classroom_preprocessors

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "llm-foundations"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Generating an assignment (`llmf-grade release`, or Formgrader's Generate button) builds the
# classroom edition: nbgrader's student version with every quiz's answer and explanations removed.
c.GenerateAssignment.preprocessors = classroom_preprocessors()

# Formgrader typesets the written answers' math with the MathJax this server serves (the
# instructor's install has it), not one from a CDN: it works offline.
c.HTMLExporter.extra_template_basedirs = formgrader_math.template_dirs()
# ... and shows a student's written answer as HTML that runs nothing: no script, event handler
# or javascript: link a student wrote reaches the instructor's page (autograder/formgrader_html.py).
c.HTMLExporter.filters = {"strip_files_prefix": formgrader_html.strip_files_prefix_and_clean}

# A course-local exchange, for one machine (Formgrader's Release/Collect buttons work without a
# system-wide /srv/nbgrader/exchange). On JupyterHub, set this to the hub's shared exchange.
c.Exchange.root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)

# If an instructor does run `nbgrader autograde`: restore deleted test cells, give each cell
# time to run under load, and do not show hidden tests in nbgrader's own feedback.
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 60
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
