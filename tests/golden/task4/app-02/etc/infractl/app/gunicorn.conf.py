# gunicorn on app-02: rendered by infractl.
chdir = "/srv/app"
bind = "0.0.0.0:8000"
# One process per worker, each answering 4 requests at once on threads:
# the application mostly waits on the database, and a thread costs far
# less memory than another Python process.
workers = 1
worker_class = "gthread"
threads = 4
timeout = 15
# A worker shows it is alive by touching a file every second: in memory,
# not on the server's disk (a container's layer is a user-space
# filesystem here, where each touch is a round trip to its daemon).
worker_tmp_dir = "/dev/shm"
graceful_timeout = 5
accesslog = "-"
errorlog = "-"
proc_name = "infractl-app"
raw_env = ["INFRACTL_APP_CONFIG=/etc/infractl/app/config.json"]
