-- One row the service's health endpoint reads to prove its database answers.
CREATE TABLE service_health (
    id          smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    schema_note text     NOT NULL
);

INSERT INTO service_health (schema_note) VALUES ('shop schema ready');
