-- The single source of truth for prefork's table. Idempotent: safe to apply on every start.
CREATE TABLE IF NOT EXISTS task (
    id          bigserial    PRIMARY KEY,
    title       varchar(255) NOT NULL,
    description text         NOT NULL,
    created_at  timestamptz  NOT NULL DEFAULT now()
);
