ALTER TABLE customers ADD COLUMN display_name text;

-- Backfill existing customers before the column becomes required.
UPDATE customers SET display_name = first_name || ' ' || left(last_name, 1) || '.'
WHERE display_name IS NULL;

ALTER TABLE customers ALTER COLUMN display_name SET NOT NULL;
