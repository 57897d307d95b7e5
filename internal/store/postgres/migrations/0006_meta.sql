-- Deployment-level values that every instance must agree on (the token
-- issuer), as SQLite's meta table holds them.
CREATE TABLE IF NOT EXISTS meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
