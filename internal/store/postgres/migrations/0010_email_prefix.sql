-- Searches by email prefix are byte-wise ranges on email_key (~>=~, ~<~):
-- the unique (tenant_id, email_key) index orders by the database's
-- collation, which need not be byte order.
CREATE INDEX users_email_pattern ON users (tenant_id, email_key text_pattern_ops);
