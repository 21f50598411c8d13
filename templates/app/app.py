"""The lab's application: a tiny notes site.

Runs under gunicorn behind nginx. Writes go to the database primary, reads
to a replica (the primary when no replica answers); in a Galera cluster both
go to its nodes in turn, the next when one does not answer or refuses (a
node outside the cluster's primary component). Every response says which
web server, application server and database server handled it, so a user
can watch load balancing and replication at work.

Routes:
  GET  /            HTML page: who served it, the latest notes
  GET  /api/info    the same as JSON
  GET  /api/notes   notes, read from a replica
  POST /api/notes   add a note (form or JSON field "text"), written to the primary
  GET  /healthz     the application process answers (no database needed)
"""

import html
import itertools
import json
import os
import socket
import time

import pymysql

CONFIG_PATH = os.environ.get("INFRACTL_APP_CONFIG", "/etc/infractl/app/config.json")
with open(CONFIG_PATH, encoding="utf-8") as f:
    CONFIG = json.load(f)

_read_turn = itertools.count()
_write_turn = itertools.count()


def connect(target):
    # A node that is gone is skipped for the next one (on_first) after 1 s;
    # an answer may take longer on a loaded machine.
    return pymysql.connect(
        host=target["host"],
        port=target["port"],
        user=CONFIG["user"],
        password=CONFIG["password"],
        database=CONFIG["database"],
        connect_timeout=1,
        read_timeout=5,
        write_timeout=5,
        autocommit=True,
    )


def db_name(cur):
    cur.execute("SELECT @@server_id")
    server_id = str(cur.fetchone()[0])
    return CONFIG["db_names"].get(server_id, "server-id " + server_id)


def in_turn(targets, turn):
    start = next(turn)
    return [targets[(start + i) % len(targets)] for i in range(len(targets))]


def on_first(targets, work):
    """`work(cursor)` on the first of `targets` that answers and does not
    refuse; the database's name and what `work` returned."""
    last_error = None
    for target in targets:
        try:
            conn = connect(target)
            with conn:
                with conn.cursor() as cur:
                    return db_name(cur), work(cur)
        except pymysql.MySQLError as e:
            last_error = e
    raise last_error


def read_notes(limit=10):
    # Replicas in turn; the primary when none of them answers.
    order = in_turn(CONFIG["replicas"] or [CONFIG["primary"]], _read_turn)
    if CONFIG["primary"] not in order:
        order.append(CONFIG["primary"])

    def latest(cur):
        cur.execute(
            "SELECT id, text, written_by, created_at FROM notes ORDER BY id DESC LIMIT %s",
            (limit,),
        )
        return [
            {"id": r[0], "text": r[1], "written_by": r[2], "created_at": str(r[3])}
            for r in cur.fetchall()
        ]

    return on_first(order, latest)


def write_note(text):
    # The primary; in a Galera cluster each node in turn.
    def insert(cur):
        cur.execute(
            "INSERT INTO notes (text, written_by) VALUES (%s, %s)",
            (text[:500], CONFIG["server"]),
        )
        return cur.lastrowid

    return on_first(in_turn(CONFIG.get("writers") or [CONFIG["primary"]], _write_turn), insert)


def served_by(environ):
    return {
        "web": environ.get("HTTP_X_WEB_SERVER", "-"),
        "app": CONFIG["server"],
        "host": socket.gethostname(),
    }


def respond(start_response, status, body, content_type="application/json", headers=()):
    data = body.encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", content_type + "; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("X-App-Server", CONFIG["server"]),
            ("Cache-Control", "no-store"),
        ]
        + list(headers),
    )
    return [data]


def as_json(start_response, status, obj, headers=()):
    return respond(start_response, status, json.dumps(obj, indent=1) + "\n", headers=headers)


def read_body(environ):
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    raw = environ["wsgi.input"].read(min(size, 4096)).decode("utf-8", "replace")
    if environ.get("CONTENT_TYPE", "").startswith("application/json"):
        try:
            return str(json.loads(raw).get("text", ""))
        except (ValueError, AttributeError):
            return ""
    from urllib.parse import parse_qs

    return parse_qs(raw).get("text", [""])[0]


def page(who, db, notes, error=None):
    rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            n["id"], html.escape(n["text"]), html.escape(n["written_by"])
        )
        for n in notes
    )
    problem = "<p><strong>database unavailable:</strong> {}</p>".format(html.escape(error)) if error else ""
    return """<!doctype html>
<html><head><meta charset="utf-8"><title>{domain}</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body>
<h1>www.{domain}</h1>
<p>Served by web server <code>{web}</code>, application server <code>{app}</code>, database <code>{db}</code>.</p>
{problem}
<form method="post" action="/api/notes"><input name="text" placeholder="a note"> <button>Add</button></form>
<table><tr><th>#</th><th>note</th><th>written by</th></tr>{rows}</table>
</body></html>
""".format(
        domain=html.escape(CONFIG["domain"]),
        web=html.escape(who["web"]),
        app=html.escape(who["app"]),
        db=html.escape(db),
        problem=problem,
        rows=rows,
    )


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    method = environ.get("REQUEST_METHOD", "GET")
    who = served_by(environ)
    if path == "/healthz":
        return respond(start_response, "200 OK", "ok\n", "text/plain")
    if path == "/api/notes" and method == "POST":
        text = read_body(environ).strip()
        if not text:
            return as_json(start_response, "400 Bad Request", {"error": "a note needs a `text`"})
        try:
            db, note_id = write_note(text)
        except pymysql.MySQLError as e:
            return as_json(start_response, "503 Service Unavailable", {"error": str(e), "served_by": who})
        who["db"] = db
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            return respond(start_response, "303 See Other", "", "text/plain", [("Location", "/")])
        return as_json(start_response, "201 Created", {"id": note_id, "served_by": who})
    if path in ("/", "/api/info", "/api/notes") and method == "GET":
        started = time.monotonic()
        try:
            db, notes = read_notes()
            error = None
        except pymysql.MySQLError as e:
            db, notes, error = "-", [], str(e)
        who["db"] = db
        if path == "/":
            status = "200 OK" if error is None else "503 Service Unavailable"
            return respond(start_response, status, page(who, db, notes, error), "text/html")
        body = {"served_by": who, "notes": notes, "ms": round((time.monotonic() - started) * 1000, 1)}
        if error:
            body["error"] = error
            return as_json(start_response, "503 Service Unavailable", body)
        return as_json(start_response, "200 OK", body)
    return as_json(start_response, "404 Not Found", {"error": "no such page", "path": path})
