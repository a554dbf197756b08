CREATE TABLE orders (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  bigint       NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    status       order_status NOT NULL DEFAULT 'pending',
    placed_at    timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
    order_id     bigint  NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id   bigint  NOT NULL REFERENCES products (id),
    quantity     integer NOT NULL CHECK (quantity > 0),
    price_cents  integer NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (order_id, product_id)
);
