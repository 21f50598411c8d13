-- Database replica: follow the primary server-01 with GTIDs.
-- Rendered by infractl; idempotent (safe to run again).
STOP SLAVE;
CHANGE MASTER TO
    MASTER_HOST = '10.101.1.11',
    MASTER_PORT = 3306,
    MASTER_USER = 'repl',
    MASTER_PASSWORD = 'golden-db-replication',
    MASTER_USE_GTID = slave_pos,
    MASTER_CONNECT_RETRY = 1;
START SLAVE;
