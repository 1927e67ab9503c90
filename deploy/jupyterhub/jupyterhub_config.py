"""JupyterHub configuration for running the course for many users with nbgrader's exchange.

Copy to the hub's configuration folder (e.g. /etc/jupyterhub/jupyterhub_config.py) and edit the
user lists (or use your authenticator's own allow list). Layout (see README.md here):

- students and instructors log in as themselves; every single-user server has the course's
  Python environment with nbgrader's Lab extensions (Assignments tab: fetch and submit);
- one shared account, ``grader-unsupervised-generative``, owns the course folder (a clone of this
  repository) and the gradebook; instructors reach its server through the hub as a *service*
  named like the course (nbgrader's Formgrader finds the course that way);
- ``/srv/nbgrader/exchange`` is the exchange folder (nbgrader_config_global.py).

The layout is nbgrader 0.9's documented "one class, multiple graders" setup. ``load_groups`` uses
the dict form of recent JupyterHub releases; older ones take plain lists of user names.
"""

c = get_config()  # noqa: F821 - provided by JupyterHub

COURSE = "unsupervised-generative"        # must equal CourseDirectory.course_id
GRADER = f"grader-{COURSE}"               # the shared account that owns the course folder
INSTRUCTORS = ["instructor1", "instructor2"]
STUDENTS = ["student1", "student2"]       # or leave to the authenticator (e.g. your LMS' LTI)

c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)
c.Authenticator.admin_users = {INSTRUCTORS[0]}

# Group names are nbgrader's convention: formgrade-<course> for graders, nbgrader-<course> for
# students (the course list and the Assignments tab read them through the hub's API).
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE}": {"users": INSTRUCTORS},
    f"nbgrader-{COURSE}": {"users": STUDENTS},
}

c.JupyterHub.load_roles = [
    {   # graders may open the shared grading server (the service) and discover it
        "name": f"formgrade-{COURSE}",
        "groups": [f"formgrade-{COURSE}"],
        "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"],
    },
    {   # students may discover the course (to see it in the Assignments tab)
        "name": f"nbgrader-{COURSE}",
        "groups": [f"nbgrader-{COURSE}"],
        "scopes": ["list:services", f"read:services!service={COURSE}"],
    },
    {   # single-user servers act with their owner's permissions (needed by the course list)
        "name": "server",
        "scopes": ["inherit"],
    },
]

# The shared grading server, run by the hub as the grader account. Its name must be the course id.
c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": "http://127.0.0.1:9999",
        "command": ["jupyterhub-singleuser", "--ServerApp.default_url=/lab"],
        "user": GRADER,
        "cwd": f"/home/{GRADER}/course",
        "environment": {"JUPYTERHUB_DEFAULT_URL": "/lab"},
    }
]

# Students' servers: modest, bounded resources (the exercises run in seconds on one CPU).
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = "2G"      # enforced by spawners that support it (e.g. SystemdSpawner, DockerSpawner)
c.Spawner.cpu_limit = 1.0
