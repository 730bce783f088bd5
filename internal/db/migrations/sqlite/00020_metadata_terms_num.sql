-- +goose Up
-- Numeric metadata ranges (app_metadata.tier:[4 TO *]) read this column:
-- the value as a number when its text is a JSON number, else NULL. The Go
-- migration 21 rebuilds the index so that every row has it, and array
-- elements have their rows (metadata paths skip array levels).
ALTER TABLE metadata_terms ADD COLUMN num REAL;
CREATE INDEX idx_metadata_terms_num ON metadata_terms (source, path, num);

-- +goose Down
DROP INDEX idx_metadata_terms_num;
ALTER TABLE metadata_terms DROP COLUMN num;
