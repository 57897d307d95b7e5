-- latch schema for PostgreSQL, version 1 (the SQLite schema's versions 1
-- and 2 in one). Times are timestamptz (microseconds, UTC on the wire);
-- NULL means "never". JSON columns are jsonb.

CREATE TABLE tenants (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    alias       text UNIQUE,
    settings    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE organisations (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL,
    email       text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    parent_id   text REFERENCES organisations(id) ON DELETE SET NULL,
    tags        jsonb NOT NULL DEFAULT '[]',
    profile     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX organisations_tenant ON organisations(tenant_id, id);
CREATE INDEX organisations_parent ON organisations(parent_id);

CREATE TABLE users (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          text NOT NULL,
    email_key      text NOT NULL,
    email_verified boolean NOT NULL DEFAULT false,
    password_hash  text NOT NULL DEFAULT '',
    first_name     text NOT NULL DEFAULT '',
    last_name      text NOT NULL DEFAULT '',
    role           text NOT NULL DEFAULT '',
    roles          jsonb NOT NULL DEFAULT '[]',
    status         text NOT NULL DEFAULT 'active',
    tags           jsonb NOT NULL DEFAULT '[]',
    metadata       jsonb NOT NULL DEFAULT '[]',
    profile        jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    last_login_at  timestamptz,
    last_seen_at   timestamptz,
    UNIQUE (tenant_id, email_key)
);
CREATE INDEX users_tenant ON users(tenant_id, id);

CREATE TABLE user_organisations (
    user_id         text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    organisation_id text NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, organisation_id)
);
CREATE INDEX user_organisations_org ON user_organisations(organisation_id);

CREATE TABLE sessions (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id       text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    generation    bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    rotated_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    origin        text NOT NULL DEFAULT '',
    ip            text NOT NULL DEFAULT '',
    dialect       text NOT NULL DEFAULT '',
    amr           jsonb NOT NULL DEFAULT '[]',
    device_name   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id, created_at);
CREATE INDEX sessions_tenant ON sessions(tenant_id);

-- Events outlive the user they are about (audit), not the tenant.
CREATE TABLE events (
    id         text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    text NOT NULL DEFAULT '',
    session_id text NOT NULL DEFAULT '',
    type       text NOT NULL,
    created_at timestamptz NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_tenant ON events(tenant_id, id);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id, id);

CREATE TABLE signing_keys (
    id          text PRIMARY KEY,
    alg         text NOT NULL,
    private_enc bytea NOT NULL,
    public_der  bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    activate_at timestamptz NOT NULL
);

-- Two-factor: whether a user has it on is derived from a confirmed row.
CREATE TABLE user_totp (
    user_id      text PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    secret       bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash    bytea NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, hash)
);

CREATE TABLE second_factor_attempts (
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at      timestamptz NOT NULL
);
CREATE INDEX second_factor_attempts_user ON second_factor_attempts(user_id, at);
