CREATE TABLE products (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku          text          NOT NULL UNIQUE,
    name         text          NOT NULL,
    price_cents  integer       NOT NULL CHECK (price_cents >= 0),
    active       boolean       NOT NULL DEFAULT true,
    created_at   timestamptz   NOT NULL DEFAULT now(),
    updated_at   timestamptz   NOT NULL DEFAULT now()
);

INSERT INTO products (sku, name, price_cents) VALUES
    ('MUG-001', 'Enamel mug', 1400),
    ('TEE-002', 'Cotton tee', 2500),
    ('CAP-003', 'Field cap', 1900);
