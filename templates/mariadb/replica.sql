-- Database replica: follow the primary {{ primary }} with GTIDs.
-- Rendered by infractl; idempotent (safe to run again).
STOP SLAVE;
CHANGE MASTER TO
    MASTER_HOST = '{{ primary_host }}',
    MASTER_PORT = {{ port }},
    MASTER_USER = 'repl',
    MASTER_PASSWORD = '{{ password }}',
    MASTER_USE_GTID = slave_pos,
    MASTER_CONNECT_RETRY = 1;
START SLAVE;
