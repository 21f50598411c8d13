# gunicorn on app-02: rendered by infractl.
chdir = "/srv/app"
bind = "0.0.0.0:8000"
workers = 2
worker_class = "sync"
timeout = 15
graceful_timeout = 5
accesslog = "-"
errorlog = "-"
proc_name = "infractl-app"
raw_env = ["INFRACTL_APP_CONFIG=/etc/infractl/app/config.json"]
