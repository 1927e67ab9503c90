"""nbgrader configuration of the shared grading account: copy to
/home/grader-unsupervised-generative/.jupyter/nbgrader_config.py.

The course folder is a clone of the course repository; its own ``nbgrader_config.py`` (source
folder ``solutions``, release folder ``exercises``, execution timeouts, the hidden-test verifier) is
loaded when nbgrader runs there, and this file points the Formgrader at it.
"""

c = get_config()  # noqa: F821 - provided by traitlets

c.CourseDirectory.root = "/home/grader-unsupervised-generative/course"
c.CourseDirectory.course_id = "unsupervised-generative"
c.Exchange.root = "/srv/nbgrader/exchange"
