-- latch schema, version 11: lazy migration. migrated_from names the
-- upstream dialect a first login created the user from ('' for every
-- other user), so that `latch migration status` counts migrated users
-- whatever the event retention.
ALTER TABLE users ADD COLUMN migrated_from TEXT NOT NULL DEFAULT '';
