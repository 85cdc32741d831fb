-- +goose Up
-- Dashboard sign-in sessions (issue 6): a browser signs in with an API
-- token and gets a random session id in an HttpOnly cookie; only its hash
-- is kept. The session acts as the token (revoking the token ends it) and
-- carries its own CSRF token for forms.
CREATE TABLE web_sessions (
    id_hash      text PRIMARY KEY,
    token_id     uuid NOT NULL REFERENCES api_tokens (id),
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);

-- +goose Down
DROP TABLE web_sessions;
