-- latch schema, version 3: re-authentication grants (token-login) are
-- sessions of their own kind, found by user and device.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_device ON sessions(user_id, device_name);
