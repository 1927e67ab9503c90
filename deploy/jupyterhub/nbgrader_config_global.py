"""nbgrader configuration for every account on the hub: copy to /etc/jupyter/nbgrader_config.py.

Students and graders see the same course id and exchange folder, so the Assignments tab
(fetch, submit) and the grader's ``nbgrader release_assignment`` / ``collect`` meet in
/srv/nbgrader/exchange. Create it once, writable by all:

    sudo mkdir -p /srv/nbgrader/exchange && sudo chmod ugo+rwx /srv/nbgrader/exchange
"""

c = get_config()  # noqa: F821 - provided by traitlets

c.CourseDirectory.course_id = "unsupervised-generative"   # = nbgrader_config.py of the course
c.Exchange.root = "/srv/nbgrader/exchange"
c.Exchange.timezone = "UTC"
