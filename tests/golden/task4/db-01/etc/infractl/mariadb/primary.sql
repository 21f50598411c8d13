-- Database primary: the site's database, its users and the replication user.
-- Rendered by infractl; idempotent (safe to run again).
CREATE DATABASE IF NOT EXISTS site;
CREATE TABLE IF NOT EXISTS site.notes (
    id INT AUTO_INCREMENT PRIMARY KEY,
    text VARCHAR(500) NOT NULL,
    written_by VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'golden-db-app';
ALTER USER 'app'@'%' IDENTIFIED BY 'golden-db-app';
GRANT SELECT, INSERT, UPDATE, DELETE ON site.* TO 'app'@'%';

CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'golden-db-replication';
ALTER USER 'repl'@'%' IDENTIFIED BY 'golden-db-replication';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%';

CREATE USER IF NOT EXISTS 'exporter'@'localhost' IDENTIFIED BY 'golden-db-exporter';
ALTER USER 'exporter'@'localhost' IDENTIFIED BY 'golden-db-exporter';
CREATE USER IF NOT EXISTS 'exporter'@'127.0.0.1' IDENTIFIED BY 'golden-db-exporter';
ALTER USER 'exporter'@'127.0.0.1' IDENTIFIED BY 'golden-db-exporter';
GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'exporter'@'localhost';
GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'exporter'@'127.0.0.1';
FLUSH PRIVILEGES;
