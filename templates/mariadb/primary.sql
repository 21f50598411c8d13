-- Database primary: the site's database, its users and the replication user.
-- Rendered by infractl; idempotent (safe to run again).
CREATE DATABASE IF NOT EXISTS site;
CREATE TABLE IF NOT EXISTS site.notes (
    id INT AUTO_INCREMENT PRIMARY KEY,
    text VARCHAR(500) NOT NULL,
    written_by VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '{{ app_password }}';
ALTER USER 'app'@'%' IDENTIFIED BY '{{ app_password }}';
GRANT SELECT, INSERT, UPDATE, DELETE ON site.* TO 'app'@'%';

CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY '{{ replication_password }}';
ALTER USER 'repl'@'%' IDENTIFIED BY '{{ replication_password }}';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%';

CREATE USER IF NOT EXISTS 'exporter'@'localhost' IDENTIFIED BY '{{ exporter_password }}';
ALTER USER 'exporter'@'localhost' IDENTIFIED BY '{{ exporter_password }}';
CREATE USER IF NOT EXISTS 'exporter'@'127.0.0.1' IDENTIFIED BY '{{ exporter_password }}';
ALTER USER 'exporter'@'127.0.0.1' IDENTIFIED BY '{{ exporter_password }}';
GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'exporter'@'localhost';
GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'exporter'@'127.0.0.1';
FLUSH PRIVILEGES;
